"""The day as the planner sees it: the database turned into a ``solver.Problem``.

Solver time is minutes after local midnight of the day being planned (in the
control room's time zone); travel times come from the fleet's travel model.
Identifiers carry the database keys: ``parcel:7``, ``vehicle:3``,
``party:12``, ``depot:1``, and ``lost:3`` for the place where van 3 stopped.

What goes in, at the moment ``at``:

- every van not declared lost, starting where it was last seen, no earlier
  than ``at`` or its shift. A van that still has stops in the plan it
  follows is on its way to the first of them: that stop is locked first
  (``under_way``) and the van is timed from when it left its last stop;
- the parcels each van carries (its last pickup or transfer), to deliver;
- every parcel ordered and not yet collected, with its windows;
- the parcels of a lost van, to collect where it stopped (a transfer);
- closed areas and roads, and lost depots' vans sent to their fallback.

Promises already broken are kept as soon as possible rather than dropped: a
window that closed before ``at``, that the carrying van cannot reach in
time, or that the plan the vans follow can now only make late (they run
behind), closes instead half an hour after the earliest time it can now be
served, and the stored stop is marked late. A collected parcel that still
fits nowhere may be delivered until the end of the shift (the re-plan's
last resort). A parcel not yet promised to a van keeps its window as it is.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from controlroom.dispatch.models import (
    Plan,
    StopKind,
    StopStatus,
    Vehicle,
)
from controlroom.orders.models import Parcel
from solver import Plan as SolverPlan
from solver import Problem, schedule_route
from solver import Route as SolverRoute
from solver import Stop as SolverStop
from solver import StopKind as SolverKind

COLLECTING = (StopKind.PICKUP, StopKind.TRANSFER)
# Moving a parcel from a lost van into another takes minutes, not a
# customer's handover: several are collected in one stop.
TRANSFER_MINUTES = 5.0


def parcel_key(parcel_id: int) -> str:
    """Return the planner's id of a parcel."""
    return f"parcel:{parcel_id}"


def vehicle_key(vehicle_id: int) -> str:
    """Return the planner's id of a van."""
    return f"vehicle:{vehicle_id}"


def key_id(key: str) -> int:
    """Return the database id inside a planner id such as ``parcel:7``."""
    return int(key.rpartition(":")[2])


@dataclass(frozen=True)
class Snapshot:
    """The problem to plan at ``at``, and how to read its answer back.

    ``origin`` is solver time 0 (local midnight, in UTC); ``places`` maps
    every location id to (lat, lon); ``transfers`` names the shipments that
    collect an already picked-up parcel from a lost van; ``promised`` holds
    each stop's window end as promised to the customer, to mark late stops.
    """

    at: datetime
    origin: datetime
    problem: Problem
    places: Mapping[str, tuple[float, float]]
    transfers: frozenset[str]
    promised: Mapping[tuple[str, SolverKind], datetime]
    followed_version: int | None
    shift_end: float
    zone: ZoneInfo
    vehicles: Mapping[str, Vehicle] = field(repr=False)
    parcels: Mapping[str, Parcel] = field(repr=False)

    def local(self, moment: datetime) -> datetime:
        """Return ``moment`` on the control room's wall clock."""
        return moment.astimezone(self.zone)

    def minutes(self, moment: datetime) -> float:
        """Return ``moment`` on the solver's clock."""
        return (moment - self.origin).total_seconds() / 60

    def moment(self, minutes: float) -> datetime:
        """Return the instant ``minutes`` on the solver's clock stands for."""
        return self.origin + timedelta(minutes=minutes)


def local_midnight(at: datetime, zone: ZoneInfo) -> datetime:
    """Return the start of ``at``'s local day, in UTC."""
    day = at.astimezone(zone).date()
    return datetime.combine(day, time(0), tzinfo=zone).astimezone(UTC)


def late_stops(
    problem: Problem, plan: SolverPlan
) -> dict[tuple[str, SolverKind], float]:
    """Return the stops ``plan`` serves after their window closes, with when."""
    late = {}
    for route in plan.routes:
        for stop in route.stops:
            window, _ = problem.stop_of(stop.parcel_id, stop.kind)
            if stop.start > window.due + 1e-6:
                late[(stop.parcel_id, stop.kind)] = stop.start
    return late


def widen(snapshot: Snapshot, dues: Mapping[tuple[str, SolverKind], float]) -> Snapshot:
    """Return ``snapshot`` with these stops' windows closing later.

    ``dues`` gives each stop its new latest start (never earlier than the
    promised one).
    The promised times are kept, so the stored stops are still marked late.
    """
    if not dues:
        return snapshot
    problem = snapshot.problem

    def opened(stop: SolverStop, key: tuple[str, SolverKind]) -> SolverStop:
        if key not in dues:
            return stop
        due = max(stop.due, stop.ready, dues[key])
        return replace(stop, due=due)

    shipments = tuple(
        replace(
            item,
            pickup=opened(item.pickup, (item.id, SolverKind.PICKUP)),
            delivery=opened(item.delivery, (item.id, SolverKind.DELIVERY)),
        )
        for item in problem.shipments
    )
    vehicles = tuple(
        replace(
            vehicle,
            on_board=tuple(
                replace(
                    parcel,
                    delivery=opened(parcel.delivery, (parcel.id, SolverKind.DELIVERY)),
                )
                for parcel in vehicle.on_board
            ),
        )
        for vehicle in problem.vehicles
    )
    widened = replace(problem, shipments=shipments, vehicles=vehicles)
    return replace(snapshot, problem=widened)


def overtime(problem: Problem, plan: SolverPlan) -> dict[str, float]:
    """Return the vans ``plan`` brings back after their shift, with when."""
    late = {}
    for route in plan.routes:
        vehicle = problem.vehicle(route.vehicle_id)
        if vehicle is not None and route.end_arrival > vehicle.shift_end + 1e-6:
            late[route.vehicle_id] = route.end_arrival
    return late


def extend_shifts(snapshot: Snapshot, ends: Mapping[str, float]) -> Snapshot:
    """Return ``snapshot`` with these vans' shifts ending later.

    A plan the vans already follow may bring a van back late (it ran
    behind); that overtime is taken as given, so the rest of the plan can
    still be repaired around it.
    """
    if not ends:
        return snapshot
    problem = snapshot.problem
    vehicles = tuple(
        replace(vehicle, shift_end=max(vehicle.shift_end, ends[vehicle.id]))
        if vehicle.id in ends
        else vehicle
        for vehicle in problem.vehicles
    )
    return replace(snapshot, problem=replace(problem, vehicles=vehicles))


def as_solver_plan(snapshot: Snapshot, plan: Plan) -> SolverPlan:
    """Return the still-planned part of ``plan`` as the planner's plan.

    Stops of parcels the snapshot no longer plans (delivered, cancelled) and
    routes of vans no longer in it are left out; on-board deliveries follow
    the van that carries the parcel now.
    """
    problem = snapshot.problem
    routes: list[SolverRoute] = []
    for route in plan.routes:
        vkey = vehicle_key(route.vehicle_id)
        vehicle = problem.vehicle(vkey)
        if vehicle is None:
            continue
        carried = {p.id for p in vehicle.on_board}
        visits: list[tuple[str, SolverKind]] = []
        for stop in route.stops:
            if stop.status is not StopStatus.PLANNED:
                continue
            key = parcel_key(stop.parcel_id)
            if stop.kind in COLLECTING and problem.shipment(key) is not None:
                visits.append((key, SolverKind.PICKUP))
            elif stop.kind is StopKind.DELIVERY and (
                key in carried or problem.shipment(key) is not None
            ):
                visits.append((key, SolverKind.DELIVERY))
        visits = _whole(visits, carried)
        if vehicle.locked_sequence and vehicle.locked_sequence[0] not in visits:
            visits.insert(0, vehicle.locked_sequence[0])
            visits = _whole(visits, carried)
        if visits:
            routes.append(schedule_route(problem, vkey, visits))
    return SolverPlan.from_routes(routes, ())


def _whole(
    visits: Sequence[tuple[str, SolverKind]], carried: set[str]
) -> list[tuple[str, SolverKind]]:
    # A shipment's two stops go together: drop a lone pickup or delivery
    # (its other half moved to another van); on-board deliveries stand alone.
    counts: dict[str, int] = {}
    for key, _ in visits:
        counts[key] = counts.get(key, 0) + 1
    return [
        (key, kind)
        for key, kind in visits
        if counts[key] == 2 or (key in carried and kind is SolverKind.DELIVERY)
    ]
