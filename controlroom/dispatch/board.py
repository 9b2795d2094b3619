"""The dispatch screen without Streamlit: what it shows.

``dispatch_board`` reads everything the screen shows in one read-only
transaction; ``controlroom.dispatch.actions`` changes things.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, selectinload

from controlroom.clock import operating_now
from controlroom.db import read_only
from controlroom.dispatch.degradations import (
    active_degradations,
)
from controlroom.dispatch.models import (
    Degradation,
    DegradationKind,
    Depot,
    Plan,
    PlanStatus,
    Route,
    Stop,
    StopKind,
    StopStatus,
    Vehicle,
    VehicleStatus,
)
from controlroom.dispatch.plan_diff import PlanDiff, plan_diff
from controlroom.dispatch.publishing import Channel, default_channels
from controlroom.orders.models import Parcel, ParcelStatus, Party

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class BoardStop:
    """One stop as the screen lists it."""

    sequence: int
    kind: StopKind
    code: str
    postcode: str
    eta: datetime
    due: datetime | None
    late: bool
    lat: float
    lon: float


@dataclass(frozen=True)
class BoardRoute:
    """One van's open stops in a plan, and where the van is."""

    plate: str
    callsign: str
    status: VehicleStatus
    lat: float
    lon: float
    stops: tuple[BoardStop, ...]


@dataclass(frozen=True)
class BoardPlan:
    """A plan version as the screen shows it."""

    version: int
    status: PlanStatus
    reason: str
    created_at: datetime
    created_by: str
    engine: str
    distance_km: float | None
    routes: tuple[BoardRoute, ...]
    unserved: tuple[tuple[str, str, str], ...]

    @property
    def open_stops(self) -> int:
        """How many stops are still to do."""
        return sum(len(r.stops) for r in self.routes)

    @property
    def late_stops(self) -> int:
        """How many open stops are planned after their window closes."""
        return sum(s.late for r in self.routes for s in r.stops)


@dataclass(frozen=True)
class Declared:
    """An open declaration."""

    id: int
    kind: DegradationKind
    summary: str
    declared_at: datetime
    declared_by: str


@dataclass(frozen=True)
class DispatchBoard:
    """Everything the dispatch screen shows, read at ``now``."""

    now: datetime
    published: BoardPlan | None
    draft: BoardPlan | None
    diff: PlanDiff | None
    codes: dict[int, str]
    backlog: tuple[tuple[str, str, datetime], ...]
    declared: tuple[Declared, ...]
    vans: tuple[tuple[str, str, VehicleStatus], ...]
    lost_vans: tuple[tuple[str, float, float], ...]
    depots: tuple[tuple[int, str, float, float], ...]
    postcodes: tuple[str, ...]
    channels: tuple[Channel, ...]


def dispatch_board(engine: Engine) -> DispatchBoard:
    """Read the dispatch screen's data in one consistent read."""
    with Session(read_only(engine)) as session, session.begin():
        now = operating_now(session)
        plans = {
            plan.status: plan
            for plan in session.scalars(
                select(Plan)
                .where(Plan.status.in_([PlanStatus.PUBLISHED, PlanStatus.DRAFT]))
                .options(selectinload(Plan.routes).selectinload(Route.stops))
            )
        }
        published = plans.get(PlanStatus.PUBLISHED)
        draft = plans.get(PlanStatus.DRAFT)
        codes = {
            pid: code for pid, code in session.execute(select(Parcel.id, Parcel.code))
        }
        planned = select(Stop.parcel_id).where(
            Stop.status == StopStatus.PLANNED,
            Stop.route_id.in_(
                select(Route.id).where(Route.plan_id == published.id)
                if published is not None
                else select(Route.id).where(Route.id < 0)
            ),
        )
        backlog = tuple(
            (code, postcode, ordered)
            for code, postcode, ordered in session.execute(
                select(Parcel.code, Party.postcode, Parcel.ordered_at)
                .join(Party, Party.id == Parcel.sender_id)
                .where(
                    Parcel.status == ParcelStatus.ORDERED,
                    Parcel.id.not_in(planned),
                )
                .order_by(Parcel.ordered_at)
            )
        )
        fleet = list(session.scalars(select(Vehicle).order_by(Vehicle.plate)))
        vans = tuple(
            (v.plate, v.driver.callsign if v.driver else "", v.status) for v in fleet
        )
        lost_vans = tuple(
            (v.plate, v.lat, v.lon) for v in fleet if v.status is VehicleStatus.LOST
        )
        depots = tuple(
            (d.id, d.name, d.lat, d.lon)
            for d in session.scalars(select(Depot).order_by(Depot.id))
        )
        postcodes = tuple(
            sorted(set(session.scalars(select(Party.postcode).distinct())))
        )
        return DispatchBoard(
            now=now,
            published=_board_plan(published) if published else None,
            draft=_board_plan(draft) if draft else None,
            diff=plan_diff(session, draft=draft) if draft else None,
            codes=codes,
            backlog=backlog,
            declared=tuple(_declared(d) for d in active_degradations(session)),
            vans=vans,
            lost_vans=lost_vans,
            depots=depots,
            postcodes=postcodes,
            channels=default_channels(session),
        )


def _board_plan(plan: Plan) -> BoardPlan:
    routes = []
    for route in sorted(plan.routes, key=lambda r: r.vehicle.plate):
        vehicle = route.vehicle
        stops = tuple(
            _board_stop(stop)
            for stop in route.stops
            if stop.status is StopStatus.PLANNED
        )
        routes.append(
            BoardRoute(
                vehicle.plate,
                route.driver.callsign if route.driver else "",
                vehicle.status,
                vehicle.lat,
                vehicle.lon,
                stops,
            )
        )
    return BoardPlan(
        version=plan.version,
        status=plan.status,
        reason=plan.reason,
        created_at=plan.created_at,
        created_by=plan.created_by,
        engine=plan.engine,
        distance_km=plan.distance_km,
        routes=tuple(routes),
        unserved=tuple(
            (item.parcel.code, item.reason, item.explanation) for item in plan.unserved
        ),
    )


def _board_stop(stop: Stop) -> BoardStop:
    lat, lon = stop.place
    return BoardStop(
        sequence=stop.sequence,
        kind=stop.kind,
        code=stop.parcel.code,
        postcode="" if stop.kind is StopKind.TRANSFER else stop.party.postcode,
        eta=stop.eta,
        due=stop.promised_by,
        late=stop.late,
        lat=lat,
        lon=lon,
    )


def _declared(item: Degradation) -> Declared:
    return Declared(
        item.id, item.kind, item.summary, item.declared_at, item.declared_by
    )
