"""The route scheduler: new orders into the plan drivers follow, as they come.

Between re-plans, orders keep arriving. ``schedule_waiting_orders`` fits
every ordered parcel that has no stop in the published plan into it without
a new plan version: each goes where it lengthens the routes least and keeps
every stop on time (``solver.repair_plan``: no stop already planned moves to
another van). What fits nowhere stays waiting, shown on the dispatch screen
as orders not in the plan, for the next re-plan. Each placement is journalled
as ``StopsScheduled``.

Only waiting parcels are placed; a lost van's parcels wait for the
dispatcher's re-plan, which decides who collects them. Nothing is placed
while the scheduler or the driver app is declared down (``HOLDS_ORDERS``):
drivers without the app follow the manifests they were sent.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from controlroom.dispatch.day_reading import take_snapshot
from controlroom.dispatch.degradations import active_degradations
from controlroom.dispatch.models import (
    DegradationKind,
    Plan,
    Route,
    Stop,
    StopKind,
    StopStatus,
    VehicleStatus,
)
from controlroom.dispatch.service import published_plan
from controlroom.dispatch.snapshot import (
    Snapshot,
    as_solver_plan,
    key_id,
    parcel_key,
)
from controlroom.journal import append_event
from controlroom.orders.models import Parcel, ParcelStatus
from solver import PlannedStop as SolverStop
from solver import StopKind as SolverKind
from solver import repair_plan

logger = logging.getLogger(__name__)

# Who journals what the route scheduler does.
SCHEDULER = "route-scheduler"
# While one of these is declared, new orders wait for the dispatcher; ending
# it lets the scheduler place them.
HOLDS_ORDERS = frozenset(
    {DegradationKind.SCHEDULER_DOWN, DegradationKind.DRIVER_APP_DOWN}
)

# Sequence numbers are moved out of the way before renumbering a route, so
# the (route, sequence) uniqueness holds at every flush.
_RENUMBER_OFFSET = 1_000_000


@dataclass(frozen=True)
class Scheduled:
    """What the scheduler did: parcels placed (with their van) and left waiting."""

    placed: tuple[tuple[int, str], ...]
    waiting: tuple[int, ...]


def waiting_parcels(session: Session, plan: Plan) -> list[int]:
    """Return the ordered parcels with no open stop in ``plan``, oldest first."""
    planned = select(Stop.parcel_id).where(
        Stop.status == StopStatus.PLANNED,
        Stop.route_id.in_(select(Route.id).where(Route.plan_id == plan.id)),
    )
    return list(
        session.scalars(
            select(Parcel.id)
            .where(Parcel.status == ParcelStatus.ORDERED, Parcel.id.not_in(planned))
            .order_by(Parcel.ordered_at, Parcel.id)
        )
    )


def schedule_waiting_orders(
    session: Session, *, at: datetime, zone: ZoneInfo, actor: str
) -> Scheduled:
    """Fit the waiting orders into the published plan; return what happened."""
    plan = published_plan(session)
    if plan is None:
        return Scheduled((), ())
    waiting = waiting_parcels(session, plan)
    if not waiting:
        return Scheduled((), ())
    if any(d.kind in HOLDS_ORDERS for d in active_degradations(session)):
        # Down scheduler: nothing is placed. App down: drivers work from the
        # manifests they were sent, so a change would never reach them; the
        # orders wait for a re-plan that is published as new manifests.
        return Scheduled((), tuple(waiting))
    snapshot = take_snapshot(session, at=at, zone=zone)
    repaired = repair_plan(snapshot.problem, as_solver_plan(snapshot, plan))
    if repaired is None:
        logger.info(
            "scheduler could not repair plan=%s; %s wait", plan.version, waiting
        )
        return Scheduled((), tuple(waiting))
    wanted = {parcel_key(pid) for pid in waiting}
    placed: list[tuple[int, str]] = []
    for solved in repaired.routes:
        new = [s for s in solved.stops if s.parcel_id in wanted]
        if not new:
            continue
        route = next(
            (r for r in plan.routes if f"vehicle:{r.vehicle_id}" == solved.vehicle_id),
            None,
        )
        if route is None or route.vehicle.status is VehicleStatus.LOST:
            continue
        _rewrite_route(session, route, solved.stops, wanted, snapshot)
        for parcel_id in sorted({key_id(s.parcel_id) for s in new}):
            placed.append((parcel_id, route.vehicle.plate))
            _journal(session, route, parcel_id, at, actor)
    done = {pid for pid, _ in placed}
    return Scheduled(tuple(placed), tuple(p for p in waiting if p not in done))


def _rewrite_route(
    session: Session,
    route: Route,
    visits: Sequence[SolverStop],
    wanted: set[str],
    snapshot: Snapshot,
) -> None:
    """Order the route's open stops as ``visits`` does, adding the new ones."""
    open_stops = {
        (stop.parcel_id, stop.side): stop
        for stop in route.stops
        if stop.status is StopStatus.PLANNED
    }
    closed = [s.sequence for s in route.stops if s.status is not StopStatus.PLANNED]
    for stop in open_stops.values():
        stop.sequence += _RENUMBER_OFFSET
    session.flush()

    ordered: list[Stop] = []
    for visit in visits:
        parcel_id = key_id(visit.parcel_id)
        side = "deliver" if visit.kind is SolverKind.DELIVERY else "collect"
        existing = open_stops.pop((parcel_id, side), None)
        if existing is not None:
            ordered.append(existing)
        elif visit.parcel_id in wanted:
            parcel = snapshot.parcels[visit.parcel_id]
            kind = StopKind.DELIVERY if side == "deliver" else StopKind.PICKUP
            eta = snapshot.moment(visit.start)
            due = parcel.deliver_until if side == "deliver" else parcel.pickup_until
            added = Stop(
                route=route,
                sequence=2 * _RENUMBER_OFFSET + len(ordered),
                parcel=parcel,
                kind=kind,
                status=StopStatus.PLANNED,
                eta=eta,
                late=eta > due,
            )
            session.add(added)
            ordered.append(added)
    # Open stops the repair did not list (none expected) keep their turn last.
    ordered.extend(sorted(open_stops.values(), key=lambda s: s.sequence))
    first = max(closed, default=0) + 1
    for number, stop in enumerate(ordered, start=first):
        stop.sequence = number
    session.flush()


def _journal(
    session: Session, route: Route, parcel_id: int, at: datetime, actor: str
) -> None:
    stops = sorted(
        (s for s in route.stops if s.parcel_id == parcel_id),
        key=lambda s: s.sequence,
    )
    append_event(
        session,
        kind="StopsScheduled",
        subject=f"parcel:{parcel_id}",
        actor=actor,
        occurred_at=at,
        payload={
            "plan": route.plan.version,
            "route": route.id,
            "vehicle": route.vehicle.plate,
            "stops": [
                {"stop": s.id, "kind": s.kind, "sequence": s.sequence, "eta": s.eta}
                for s in stops
            ],
        },
    )
