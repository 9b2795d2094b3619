"""Re-planning: a new plan version from the day as it is, its diff, publishing.

``replan`` reads the day (``controlroom.dispatch.snapshot``), answers at once
by repairing the plan the vans follow (its stops stay on their vans; what
lost its place is inserted where it costs least, oldest promise first), then
lets the search improve that answer within the budget, warm-started from it
and penalised for moving stops between drivers (``solver``). The better
valid plan is stored as a draft version with every parcel it leaves out and
the planner's reason. ``plan_diff`` shows what the draft changes against the
published plan; ``publish`` brings the draft up to date with what happened
while it was reviewed (the same repair, with the draft as the plan to keep)
and makes it the plan drivers follow, over the app or, when the app is down,
as SMS manifests and a printable sheet per driver.
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from controlroom.dispatch.degradations import active_degradations
from controlroom.dispatch.models import (
    DegradationKind,
    Depot,
    Plan,
    PlanStatus,
    PlanUnserved,
    Route,
    Stop,
    StopKind,
    StopStatus,
    VehicleStatus,
)
from controlroom.dispatch.snapshot import (
    Snapshot,
    as_solver_plan,
    key_id,
    take_snapshot,
    widen,
)
from controlroom.dispatch.travel import KM_PER_DEGREE_LAT, KM_PER_DEGREE_LON_AT_EQUATOR
from controlroom.errors import DispatchError
from controlroom.journal import append_event
from controlroom.orders.models import Parcel, Party
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

# An ETA that moves less than this is not worth a dispatcher's attention.
ETA_NOTICE = timedelta(minutes=5)


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
    snapshot = take_snapshot(session, at=at, zone=zone)
    published = _published(session)
    current = as_solver_plan(snapshot, published) if published is not None else None
    plan, engine = _solve(snapshot, current, budget)
    stuck = _stranded(snapshot, plan)
    if stuck:
        # Parcels already collected are never left behind: when their
        # promised window cannot be kept, deliver them as soon as possible.
        snapshot = widen(snapshot, stuck)
        warm = as_solver_plan(snapshot, published) if published is not None else None
        plan, engine = _solve(snapshot, warm, budget)
    return _store(session, snapshot, plan, engine, reason=reason, actor=actor)


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


def _published(session: Session) -> Plan | None:
    return session.scalar(select(Plan).where(Plan.status == PlanStatus.PUBLISHED))


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
    _write_routes(session, stored, snapshot, plan)
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


def _write_routes(
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
            km += _km(previous, place)
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
        km += _km(previous, snapshot.places[snapshot.problem.end_location(planned)])
    for item in plan.unserved:
        session.add(
            PlanUnserved(
                plan_id=stored.id,
                parcel_id=key_id(item.shipment_id),
                reason=item.reason.value,
                explanation=_readable(session, snapshot, item.explanation)[:300],
            )
        )
    stored.distance_km = round(km, 2)
    session.flush()


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


def _km(a: tuple[float, float], b: tuple[float, float]) -> float:
    lat = math.radians((a[0] + b[0]) / 2)
    return math.hypot(
        (a[0] - b[0]) * KM_PER_DEGREE_LAT,
        (a[1] - b[1]) * KM_PER_DEGREE_LON_AT_EQUATOR * math.cos(lat),
    )


# -- the diff -----------------------------------------------------------------


@dataclass(frozen=True)
class StopChange:
    """One parcel's stop in the published plan and in the draft."""

    parcel_id: int
    kind: StopKind
    before: str | None
    after: str | None
    eta_before: datetime | None
    eta_after: datetime | None
    late: bool = False

    @property
    def eta_shift(self) -> timedelta | None:
        """How much later (positive) or earlier the stop is now planned."""
        if self.eta_before is None or self.eta_after is None:
            return None
        return self.eta_after - self.eta_before


@dataclass(frozen=True)
class UnservedChange:
    """A parcel the draft leaves out that the published plan still served."""

    parcel_id: int
    reason: str
    explanation: str


@dataclass(frozen=True)
class PlanDiff:
    """What publishing the draft would change, for the dispatcher to review."""

    draft_version: int
    base_version: int | None
    moved: tuple[StopChange, ...]
    retimed: tuple[StopChange, ...]
    newly_planned: tuple[StopChange, ...]
    newly_unserved: tuple[UnservedChange, ...]
    still_unserved: tuple[UnservedChange, ...]
    unchanged: int
    done_since: int = 0

    @property
    def moved_parcels(self) -> int:
        """How many parcels change driver."""
        return len({c.parcel_id for c in self.moved})


def plan_diff(session: Session, *, draft: Plan) -> PlanDiff:
    """Compare ``draft`` with the plan it was made from (published then)."""
    base = None
    if draft.base_version is not None:
        base = session.scalar(select(Plan).where(Plan.version == draft.base_version))
    # Stops done since the draft was made were still open when it was:
    # they count as the base's, or the diff would call them newly planned.
    before = _open_stops(base, since=draft.created_at) if base is not None else {}
    after = _open_stops(draft)
    done_since = 0
    if base is not None:
        done_since = sum(
            1
            for route in base.routes
            for stop in route.stops
            if stop.done_at is not None and stop.done_at >= draft.created_at
        )
    moved, retimed, planned = [], [], []
    unchanged = 0
    for key, (plate, eta, late, kind) in sorted(after.items()):
        old = before.get(key)
        change = StopChange(
            key[0],
            kind,
            old[0] if old else None,
            plate,
            old[1] if old else None,
            eta,
            late,
        )
        if old is None:
            planned.append(change)
        elif old[0] != plate:
            moved.append(change)
        elif abs(eta - old[1]) >= ETA_NOTICE:
            retimed.append(change)
        else:
            unchanged += 1
    served_before = {parcel for parcel, _ in before}
    served_after = {parcel for parcel, _ in after}
    newly: list[UnservedChange] = []
    still: list[UnservedChange] = []
    for item in draft.unserved:
        left_out = UnservedChange(item.parcel_id, item.reason, item.explanation)
        if item.parcel_id in served_before and item.parcel_id not in served_after:
            newly.append(left_out)
        else:
            still.append(left_out)
    return PlanDiff(
        draft_version=draft.version,
        base_version=draft.base_version,
        moved=tuple(moved),
        retimed=tuple(retimed),
        newly_planned=tuple(planned),
        newly_unserved=tuple(newly),
        still_unserved=tuple(still),
        unchanged=unchanged,
        done_since=done_since,
    )


def _open_stops(
    plan: Plan, *, since: datetime | None = None
) -> dict[tuple[int, str], tuple[str, datetime, bool, StopKind]]:
    stops: dict[tuple[int, str], tuple[str, datetime, bool, StopKind]] = {}
    for route in plan.routes:
        for stop in route.stops:
            done_since = (
                since is not None and stop.done_at is not None and stop.done_at >= since
            )
            if stop.status is not StopStatus.PLANNED and not done_since:
                continue
            side = "deliver" if stop.kind is StopKind.DELIVERY else "collect"
            stops[(stop.parcel_id, side)] = (
                route.vehicle.plate,
                stop.eta,
                stop.late,
                stop.kind,
            )
    return stops


# -- publishing -----------------------------------------------------------------


class Channel(StrEnum):
    """How drivers receive a published plan."""

    APP = "app"
    SMS = "sms"
    PRINT = "print"


@dataclass(frozen=True)
class Publication:
    """A published plan, how it went out, and what the update changed."""

    plan: Plan
    channels: tuple[Channel, ...]
    brought_up_to_date: bool


def default_channels(session: Session) -> tuple[Channel, ...]:
    """Return the channels to publish over now: SMS and paper while the app is down."""
    if any(
        d.kind is DegradationKind.DRIVER_APP_DOWN for d in active_degradations(session)
    ):
        return (Channel.SMS, Channel.PRINT)
    return (Channel.APP,)


def publish(
    session: Session,
    *,
    draft: Plan,
    at: datetime,
    zone: ZoneInfo,
    actor: str,
    channels: Sequence[Channel] | None = None,
) -> Publication:
    """Bring ``draft`` up to date and make it the plan drivers follow.

    While the draft was reviewed, vans kept driving and orders kept coming.
    Before publishing, the draft is repaired against the day as it is now:
    its stops keep their vans and order, stops done since leave it, new
    orders are inserted where they cost least. The routes are rewritten only
    if that changed anything; either way the journal says so.

    Raises
    ------
    DispatchError
        If ``draft`` is not a draft, the app is chosen while it is declared
        down, no channel is chosen, or the draft can no longer be repaired
        (re-plan instead).
    """
    if draft.status is not PlanStatus.DRAFT:
        raise DispatchError(
            f"Plan {draft.version} is {draft.status.value}; only a draft is published."
        )
    chosen = tuple(dict.fromkeys(channels)) if channels else default_channels(session)
    if not chosen:
        raise DispatchError("Choose how the drivers receive the plan.")
    if Channel.APP in chosen and default_channels(session) != (Channel.APP,):
        raise DispatchError(
            "The driver app is declared down; publish by SMS and print, or end "
            "the declaration first."
        )
    snapshot = take_snapshot(session, at=at, zone=zone, follow=draft)
    reviewed = as_solver_plan(snapshot, draft)
    updated = repair_plan(snapshot.problem, reviewed)
    if updated is None:
        raise DispatchError(
            f"Draft {draft.version} no longer fits what happened since it was "
            "made; re-plan and review again."
        )
    changed = _visits(updated) != _visits(reviewed) or len(updated.unserved) != len(
        draft.unserved
    )
    if changed:
        _rewrite(session, draft, snapshot, updated)

    previous = session.scalars(
        select(Plan).where(Plan.status == PlanStatus.PUBLISHED)
    ).all()
    for old in previous:
        old.status = PlanStatus.SUPERSEDED
    draft.status = PlanStatus.PUBLISHED
    for route in draft.routes:
        if route.stops and route.vehicle.status is VehicleStatus.AVAILABLE:
            route.vehicle.status = VehicleStatus.ON_ROUTE
    append_event(
        session,
        kind="PlanPublished",
        subject=f"plan:{draft.version}",
        actor=actor,
        occurred_at=at,
        payload={
            "superseded": [old.version for old in previous],
            "channels": [c.value for c in chosen],
            "brought_up_to_date": changed,
            "stops": sum(len(r.stops) for r in draft.routes),
            "unserved": len(draft.unserved),
        },
    )
    return Publication(draft, chosen, changed)


def _visits(plan: SolverPlan) -> dict[str, list[tuple[str, SolverKind]]]:
    return {
        route.vehicle_id: [(s.parcel_id, s.kind) for s in route.stops]
        for route in plan.routes
        if route.stops
    }


def _rewrite(
    session: Session, draft: Plan, snapshot: Snapshot, plan: SolverPlan
) -> None:
    for route in list(draft.routes):
        for stop in list(route.stops):
            session.delete(stop)
        session.delete(route)
    for item in list(draft.unserved):
        session.delete(item)
    session.flush()
    session.expire(draft, ["routes", "unserved"])
    _write_routes(session, draft, snapshot, plan)
    session.expire(draft, ["routes", "unserved"])
