"""Re-planning: a new plan version from the day as it is, its diff, publishing.

``replan`` reads the day (``controlroom.dispatch.snapshot``), answers at once
by repairing the plan the vans follow (its stops stay on their vans; what
lost its place is inserted where it costs least, oldest promise first), then
lets the search improve that answer within the budget, warm-started from it
and penalised for moving stops between drivers (``solver``). The better
valid plan is stored as a draft version with every parcel it leaves out and
the planner's reason. ``controlroom.dispatch.plan_diff`` shows what the
draft changes; ``controlroom.dispatch.publishing`` sends it out.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from controlroom.dispatch.day_reading import take_snapshot
from controlroom.dispatch.degradations import active_degradations
from controlroom.dispatch.models import (
    Depot,
    Plan,
    PlanStatus,
    PlanUnserved,
    Route,
    Stop,
    StopKind,
    StopStatus,
)
from controlroom.dispatch.service import published_plan
from controlroom.dispatch.snapshot import (
    Snapshot,
    as_solver_plan,
    key_id,
    widen,
)
from controlroom.dispatch.travel import planar_km
from controlroom.errors import DispatchError
from controlroom.journal import append_event
from controlroom.orders.models import Parcel, ParcelStatus, Party
from solver import (
    InvalidPlanError,
    NoPlanFoundError,
    UnservedReason,
    plan_routes,
    repair_plan,
)
from solver import Plan as SolverPlan
from solver import StopKind as SolverKind

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class SearchBudget:
    """How hard the search tries after the instant repair.

    ``max_solutions`` 0 skips the search (repair only). Tests bound the
    search by solutions and a seed; the screen adds a time limit.
    """

    max_solutions: int = 300
    time_limit: float | None = 5.0
    seed: int = 1


class Engine(StrEnum):
    REPAIR = "repair"
    SEARCH = "search"


def replan(
    session: Session,
    *,
    at: datetime,
    zone: ZoneInfo,
    actor: str,
    reason: str,
    budget: SearchBudget = SearchBudget(),
) -> Plan:
    """Plan the rest of the day as it stands and store it as a draft version.

    Returns
    -------
    Plan
        The new draft (older drafts are superseded), with its routes, stops
        and unserved parcels.

    Raises
    ------
    DispatchError
        If the reason is empty, the fleet has no settings, no van is left,
        or no valid plan was found.
    """
    reason = " ".join(reason.split())
    if not reason:
        raise DispatchError("Say why you re-plan; it goes into the journal.")
    started = time.monotonic()
    snapshot = take_snapshot(session, at=at, zone=zone)
    published = published_plan(session)

    def followed(view: Snapshot) -> SolverPlan | None:
        return as_solver_plan(view, published) if published is not None else None

    # Parcels already collected are never left behind: when their promised
    # window cannot be kept, they are delivered soon after the earliest a
    # van can, and failing that before the shift ends. The quick repair
    # finds the smallest grace that works before the search spends its time.
    quick = (
        repair_plan(snapshot.problem, current)
        if (current := followed(snapshot))
        else None
    )
    if quick is not None and (stuck := _stranded(snapshot, quick)):
        snapshot = _widened(snapshot, stuck, followed)
    plan, engine = _solve(snapshot, followed(snapshot), budget)
    if stuck := _stranded(snapshot, plan):
        # Only when the repair could not tell: search again in what is left.
        snapshot = _widened(snapshot, stuck, followed)
        left = None
        if budget.time_limit is not None:
            left = max(budget.time_limit - (time.monotonic() - started), 0.5)
        plan, engine = _solve(
            snapshot, followed(snapshot), replace(budget, time_limit=left)
        )
    return _store(session, snapshot, plan, engine, reason=reason, actor=actor)


def _widened(
    snapshot: Snapshot,
    stuck: set[tuple[str, SolverKind]],
    followed: Callable[[Snapshot], SolverPlan | None],
) -> Snapshot:
    """Widen the stranded parcels' windows by the smallest grace that works."""
    for grace in GRACE_STEPS:
        trial = widen(snapshot, _soonest(snapshot, stuck, grace))
        warm = followed(trial)
        fixed = repair_plan(trial.problem, warm) if warm is not None else None
        if grace is None or (fixed is not None and not _stranded(trial, fixed)):
            return trial
    return snapshot


# Minutes after the earliest possible service a stranded parcel may still be
# served, tried in turn; None is the end of the shift.
GRACE_STEPS: tuple[float | None, ...] = (30.0, 90.0, 180.0, None)


def _soonest(
    snapshot: Snapshot, stuck: set[tuple[str, SolverKind]], grace: float | None
) -> dict[tuple[str, SolverKind], float]:
    """New latest starts: the earliest any van could serve, plus ``grace``."""
    if grace is None:
        return dict.fromkeys(stuck, snapshot.shift_end)
    problem = snapshot.problem
    dues = {}
    for parcel_id, kind in stuck:
        stop, _ = problem.stop_of(parcel_id, kind)
        shipment = problem.shipment(parcel_id)
        if shipment is not None and kind is SolverKind.DELIVERY:
            # Collected first: the earliest pickup, then straight there.
            pickup = shipment.pickup
            reach = min(
                v.shift_start + problem.travel(v.start_location_id, pickup.location_id)
                for v in problem.vehicles
            )
            earliest = (
                max(reach, pickup.ready)
                + pickup.service
                + problem.travel(pickup.location_id, stop.location_id)
            )
        else:
            earliest = min(
                v.shift_start + problem.travel(v.start_location_id, stop.location_id)
                for v in problem.vehicles
            )
        dues[(parcel_id, kind)] = max(earliest, stop.ready) + grace
    return dues


# Reasons a collected parcel can be left out for that widening cannot cure.
_FINAL = frozenset({UnservedReason.AREA_CLOSED, UnservedReason.TOO_HEAVY})


def _stranded(snapshot: Snapshot, plan: SolverPlan) -> set[tuple[str, SolverKind]]:
    """Return the collected parcels ``plan`` leaves out for lack of time."""
    carried = {p.id for v in snapshot.problem.vehicles for p in v.on_board}
    stuck = set()
    for item in plan.unserved:
        if item.reason in _FINAL:
            continue
        if item.shipment_id in snapshot.transfers:
            stuck.add((item.shipment_id, SolverKind.PICKUP))
            stuck.add((item.shipment_id, SolverKind.DELIVERY))
        elif item.shipment_id in carried:
            stuck.add((item.shipment_id, SolverKind.DELIVERY))
    return stuck


def _solve(
    snapshot: Snapshot, current: SolverPlan | None, budget: SearchBudget
) -> tuple[SolverPlan, Engine]:
    problem = snapshot.problem
    repaired = repair_plan(problem, current) if current is not None else None
    if budget.max_solutions <= 0:
        if repaired is None:
            raise DispatchError(
                "The current plan cannot simply be repaired; re-plan with the search."
            )
        return repaired, Engine.REPAIR
    try:
        searched = plan_routes(
            problem,
            seed=budget.seed,
            max_solutions=budget.max_solutions,
            time_limit=budget.time_limit,
            warm_start=repaired or current,
        )
    except (InvalidPlanError, NoPlanFoundError) as error:
        logger.warning("replan_search_failed error=%s", error)
        if repaired is None:
            raise DispatchError(f"No valid plan was found: {error}") from error
        return repaired, Engine.REPAIR
    if repaired is not None and _rank(repaired) <= _rank(searched):
        return repaired, Engine.REPAIR
    return searched, Engine.SEARCH


def _rank(plan: SolverPlan) -> tuple[int, int, float]:
    return (len(plan.unserved), plan.vehicles_used, round(plan.distance, 6))


def _store(
    session: Session,
    snapshot: Snapshot,
    plan: SolverPlan,
    engine: Engine,
    *,
    reason: str,
    actor: str,
) -> Plan:
    for draft in session.scalars(select(Plan).where(Plan.status == PlanStatus.DRAFT)):
        draft.status = PlanStatus.SUPERSEDED
    version = (session.scalar(select(func.max(Plan.version))) or 0) + 1
    stored = Plan(
        version=version,
        status=PlanStatus.DRAFT,
        reason=reason[:200],
        created_at=snapshot.at,
        created_by=actor,
        base_version=snapshot.followed_version,
        engine=engine.value,
    )
    session.add(stored)
    session.flush()
    write_routes(session, stored, snapshot, plan)
    append_event(
        session,
        kind="PlanCreated",
        subject=f"plan:{version}",
        actor=actor,
        occurred_at=snapshot.at,
        payload={
            "reason": stored.reason,
            "base_version": snapshot.followed_version,
            "engine": engine.value,
            "routes": {
                route.vehicle_id: [[s.parcel_id, s.kind] for s in route.stops]
                for route in plan.routes
            },
            "unserved": [[u.shipment_id, u.reason] for u in plan.unserved],
            "declared": [d.summary for d in active_degradations(session)],
        },
    )
    return stored


def write_routes(
    session: Session, stored: Plan, snapshot: Snapshot, plan: SolverPlan
) -> None:
    """Give every van in the snapshot a route (empty when idle) and its stops."""
    km = 0.0
    for vkey in sorted(snapshot.vehicles):
        planned = snapshot.problem.vehicle(vkey)
        if planned is None:
            continue
        vehicle = snapshot.vehicles[vkey]
        route = Route(
            plan_id=stored.id, vehicle_id=vehicle.id, driver_id=vehicle.driver_id
        )
        session.add(route)
        session.flush()
        solved = plan.route_of(vkey)
        if solved is None:
            continue
        previous = snapshot.places[f"vehicle:{vehicle.id}"]
        for sequence, stop in enumerate(solved.stops, start=1):
            place = snapshot.places[stop.location_id]
            km += planar_km(previous, place)
            previous = place
            kind = _kind(snapshot, stop.parcel_id, stop.kind)
            solver_kind = (
                SolverKind.DELIVERY
                if kind is StopKind.DELIVERY
                else (SolverKind.PICKUP)
            )
            promised = snapshot.promised.get((stop.parcel_id, solver_kind))
            eta = snapshot.moment(stop.start)
            transfer = kind is StopKind.TRANSFER
            session.add(
                Stop(
                    route_id=route.id,
                    sequence=sequence,
                    parcel_id=key_id(stop.parcel_id),
                    kind=kind,
                    status=StopStatus.PLANNED,
                    eta=eta,
                    late=promised is not None and eta > promised,
                    lat=place[0] if transfer else None,
                    lon=place[1] if transfer else None,
                )
            )
        km += planar_km(
            previous, snapshot.places[snapshot.problem.end_location(planned)]
        )
    for item in plan.unserved:
        reason = item.reason.value
        explanation = _readable(session, snapshot, item.explanation)
        parcel = snapshot.parcels.get(item.shipment_id)
        missed = parcel is not None and parcel.status is ParcelStatus.ORDERED
        if missed and parcel is not None and parcel.pickup_until < snapshot.at:
            # Said plainly: no van can go back in time; the sender needs a
            # new time, which is the dispatcher's call, not the planner's.
            reason = WINDOW_PASSED
            explanation = (
                "Its pickup window closed at "
                f"{snapshot.local(parcel.pickup_until):%H:%M}, before this "
                "re-plan; agree a new pickup time with the sender."
            )
        session.add(
            PlanUnserved(
                plan_id=stored.id,
                parcel_id=key_id(item.shipment_id),
                reason=reason,
                explanation=explanation[:300],
            )
        )
    stored.distance_km = round(km, 2)
    session.flush()


# A parcel whose pickup window closed before the re-plan, not yet collected.
WINDOW_PASSED = "window_passed"

_PLANNER_ID = re.compile(r"\b(party|vehicle|lost|depot|parcel):(\d+)\b")


def _readable(session: Session, snapshot: Snapshot, text: str) -> str:
    """Say the planner's ids as a dispatcher knows them: plates, postcodes, codes."""

    def name(match: re.Match[str]) -> str:
        kind, number = match.group(1), int(match.group(2))
        if kind == "vehicle" or kind == "lost":
            vehicle = snapshot.vehicles.get(f"vehicle:{number}")
            plate = vehicle.plate if vehicle is not None else f"van {number}"
            return f"the place van {plate} stopped" if kind == "lost" else plate
        if kind == "party":
            party = session.get(Party, number)
            return f"postcode {party.postcode}" if party else "an unknown address"
        if kind == "depot":
            depot = session.get(Depot, number)
            return depot.name if depot else "an unknown depot"
        parcel = session.get(Parcel, number)
        return parcel.code if parcel else "an unknown parcel"

    return _PLANNER_ID.sub(name, text)


def _kind(snapshot: Snapshot, parcel: str, kind: SolverKind) -> StopKind:
    if kind is SolverKind.DELIVERY:
        return StopKind.DELIVERY
    return StopKind.TRANSFER if parcel in snapshot.transfers else StopKind.PICKUP
