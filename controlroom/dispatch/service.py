"""The fleet and its plans, given a session: routes out, stops done."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from controlroom.dispatch.models import (
    Depot,
    Driver,
    Plan,
    PlanStatus,
    Route,
    Stop,
    StopKind,
    StopStatus,
    Vehicle,
    VehicleStatus,
)
from controlroom.errors import DispatchError
from controlroom.journal import append_event
from controlroom.orders.models import Parcel, ParcelStatus, Party
from controlroom.orders.service import record_delivery, record_pickup


@dataclass(frozen=True)
class PlannedStop:
    """A stop as a plan proposes it: which parcel, pickup or delivery, when."""

    parcel: Parcel
    kind: StopKind
    eta: datetime


@dataclass(frozen=True)
class PlannedRoute:
    """A vehicle and the stops it should serve, in order."""

    vehicle: Vehicle
    stops: Sequence[PlannedStop]


def add_depot(
    session: Session, *, name: str, lat: float, lon: float, actor: str
) -> Depot:
    """Register a depot and journal ``DepotAdded``."""
    depot = Depot(name=name, lat=lat, lon=lon)
    session.add(depot)
    session.flush()
    append_event(
        session,
        kind="DepotAdded",
        subject=f"depot:{depot.id}",
        actor=actor,
        payload={"name": name, "lat": lat, "lon": lon},
    )
    return depot


def add_driver(
    session: Session, *, callsign: str, party: Party, area: str, actor: str
) -> Driver:
    """Register a driver (contact details already in ``party``)."""
    driver = Driver(callsign=callsign, party_id=party.id, area=area)
    session.add(driver)
    session.flush()
    append_event(
        session,
        kind="DriverAdded",
        subject=f"driver:{driver.id}",
        actor=actor,
        payload={"callsign": callsign, "party": party.id, "area": area},
    )
    return driver


def add_vehicle(
    session: Session,
    *,
    plate: str,
    capacity: int,
    depot: Depot,
    driver: Driver | None,
    actor: str,
) -> Vehicle:
    """Register a vehicle parked at its depot."""
    if capacity <= 0:
        raise DispatchError(f"A vehicle's capacity must be positive, not {capacity}.")
    vehicle = Vehicle(
        plate=plate,
        capacity=capacity,
        depot_id=depot.id,
        driver_id=driver.id if driver else None,
        status=VehicleStatus.AVAILABLE,
        lat=depot.lat,
        lon=depot.lon,
    )
    session.add(vehicle)
    session.flush()
    append_event(
        session,
        kind="VehicleAdded",
        subject=f"vehicle:{vehicle.id}",
        actor=actor,
        payload={
            "plate": plate,
            "capacity": capacity,
            "depot": depot.id,
            "driver": driver.id if driver else None,
        },
    )
    return vehicle


def create_plan(
    session: Session,
    *,
    routes: Sequence[PlannedRoute],
    reason: str,
    at: datetime,
    actor: str,
) -> Plan:
    """Store a new plan version as a draft and journal ``PlanCreated``."""
    version = (session.scalar(select(func.max(Plan.version))) or 0) + 1
    plan = Plan(
        version=version,
        status=PlanStatus.DRAFT,
        reason=reason,
        created_at=at,
        created_by=actor,
    )
    session.add(plan)
    session.flush()

    for planned in routes:
        route = Route(
            plan_id=plan.id,
            vehicle_id=planned.vehicle.id,
            driver_id=planned.vehicle.driver_id,
        )
        session.add(route)
        session.flush()
        for sequence, stop in enumerate(planned.stops, start=1):
            session.add(
                Stop(
                    route_id=route.id,
                    sequence=sequence,
                    parcel_id=stop.parcel.id,
                    kind=stop.kind,
                    status=StopStatus.PLANNED,
                    eta=stop.eta,
                )
            )
    session.flush()

    append_event(
        session,
        kind="PlanCreated",
        subject=f"plan:{plan.version}",
        actor=actor,
        occurred_at=at,
        payload={
            "reason": reason,
            "routes": {
                planned.vehicle.plate: [
                    [stop.parcel.id, stop.kind] for stop in planned.stops
                ]
                for planned in routes
            },
        },
    )
    return plan


def publish_plan(
    session: Session,
    *,
    plan: Plan,
    at: datetime,
    actor: str,
    details: Mapping[str, object] | None = None,
) -> None:
    """Make ``plan`` the one drivers follow; the previous one is superseded.

    ``details`` join the journal's ``PlanPublished`` payload (how it went out).
    """
    if plan.status is not PlanStatus.DRAFT:
        raise DispatchError(f"Plan {plan.version} is {plan.status.value}, not a draft.")
    previous = session.scalars(
        select(Plan).where(Plan.status == PlanStatus.PUBLISHED)
    ).all()
    for old in previous:
        old.status = PlanStatus.SUPERSEDED
    plan.status = PlanStatus.PUBLISHED
    for route in plan.routes:
        # A lost van stays lost, whatever plan is published.
        if route.stops and route.vehicle.status is VehicleStatus.AVAILABLE:
            route.vehicle.status = VehicleStatus.ON_ROUTE
    append_event(
        session,
        kind="PlanPublished",
        subject=f"plan:{plan.version}",
        actor=actor,
        occurred_at=at,
        payload={"superseded": [old.version for old in previous], **(details or {})},
    )


def published_plan(session: Session) -> Plan | None:
    """Return the plan drivers follow now, if any."""
    return session.scalar(select(Plan).where(Plan.status == PlanStatus.PUBLISHED))


def complete_stop(
    session: Session, *, stop: Stop, at: datetime, actor: str, via: str = "app"
) -> None:
    """Record a pickup or delivery done at a stop; the parcel follows.

    ``via`` says how the driver reported it (the app, or "sms").
    """
    if stop.status is not StopStatus.PLANNED:
        raise DispatchError(f"Stop {stop.id} is already {stop.status.value}.")
    parcel = stop.parcel
    vehicle = stop.route.vehicle
    if stop.kind is StopKind.PICKUP:
        record_pickup(session, parcel=parcel, at=at, actor=actor, via=via)
        lat, lon = parcel.sender.lat, parcel.sender.lon
    elif stop.kind is StopKind.DELIVERY:
        record_delivery(session, parcel=parcel, at=at, actor=actor, via=via)
        lat, lon = parcel.recipient.lat, parcel.recipient.lon
    else:
        # A transfer: the parcel changes van where the lost one stopped.
        if (
            parcel.status is not ParcelStatus.PICKED_UP
            or stop.lat is None
            or stop.lon is None
        ):
            raise DispatchError(
                f"Parcel {parcel.code} is {parcel.status.value}; only a parcel "
                "on a lost van's board can be transferred."
            )
        lat, lon = stop.lat, stop.lon

    stop.status = StopStatus.DONE
    stop.done_at = at
    vehicle.lat, vehicle.lon, vehicle.seen_at = lat, lon, at
    append_event(
        session,
        kind="StopCompleted",
        subject=f"stop:{stop.id}",
        actor=actor,
        occurred_at=at,
        payload={
            "route": stop.route_id,
            "vehicle": vehicle.plate,
            "parcel": parcel.id,
            "kind": stop.kind,
            "eta": stop.eta,
        },
    )
    _finish_route_if_done(session, route=stop.route, at=at, actor=actor)


@dataclass(frozen=True)
class StopSlot:
    """Where a new stop goes in a route (its sequence number) and its ETA."""

    sequence: int
    eta: datetime


def schedule_stops(
    session: Session,
    *,
    route: Route,
    parcel: Parcel,
    pickup: StopSlot,
    delivery: StopSlot,
    at: datetime,
    actor: str,
) -> tuple[Stop, Stop]:
    """Insert a parcel's pickup and delivery into a route; journal ``StopsScheduled``.

    Sequence numbers only order the stops, so gaps are allowed: a scheduler
    can give each stop its place in a day's route before the orders between
    them have arrived.
    """
    if pickup.sequence >= delivery.sequence or pickup.eta > delivery.eta:
        raise DispatchError(
            f"Parcel {parcel.code}: the pickup must come before the delivery "
            f"(sequence {pickup.sequence} then {delivery.sequence})."
        )
    taken = {stop.sequence for stop in route.stops}
    clash = sorted(taken & {pickup.sequence, delivery.sequence})
    if clash:
        raise DispatchError(
            f"Route {route.id} already has a stop at sequence {clash[0]}."
        )
    already = session.scalar(
        select(Stop.id).where(
            Stop.route_id.in_(select(Route.id).where(Route.plan_id == route.plan_id)),
            Stop.parcel_id == parcel.id,
        )
    )
    if already is not None:
        raise DispatchError(
            f"Parcel {parcel.code} already has stops in plan {route.plan.version}."
        )

    stops = (
        Stop(
            route=route,
            sequence=pickup.sequence,
            parcel=parcel,
            kind=StopKind.PICKUP,
            status=StopStatus.PLANNED,
            eta=pickup.eta,
        ),
        Stop(
            route=route,
            sequence=delivery.sequence,
            parcel=parcel,
            kind=StopKind.DELIVERY,
            status=StopStatus.PLANNED,
            eta=delivery.eta,
        ),
    )
    session.add_all(stops)
    if (
        route.plan.status is PlanStatus.PUBLISHED
        and route.vehicle.status is VehicleStatus.AVAILABLE
    ):
        route.vehicle.status = VehicleStatus.ON_ROUTE
    session.flush()

    append_event(
        session,
        kind="StopsScheduled",
        subject=parcel.subject,
        actor=actor,
        occurred_at=at,
        payload={
            "plan": route.plan.version,
            "route": route.id,
            "vehicle": route.vehicle.plate,
            "pickup": {
                "stop": stops[0].id,
                "sequence": pickup.sequence,
                "eta": pickup.eta,
            },
            "delivery": {
                "stop": stops[1].id,
                "sequence": delivery.sequence,
                "eta": delivery.eta,
            },
        },
    )
    return stops


def skip_stop(
    session: Session, *, stop: Stop, at: datetime, actor: str, reason: str
) -> None:
    """Mark a planned stop as not served, with the reason; journal ``StopSkipped``."""
    if stop.status is not StopStatus.PLANNED:
        raise DispatchError(f"Stop {stop.id} is already {stop.status.value}.")
    if not reason.strip():
        raise DispatchError("Say why the stop is skipped.")
    stop.status = StopStatus.SKIPPED
    vehicle = stop.route.vehicle
    append_event(
        session,
        kind="StopSkipped",
        subject=f"stop:{stop.id}",
        actor=actor,
        occurred_at=at,
        payload={
            "route": stop.route_id,
            "vehicle": vehicle.plate,
            "parcel": stop.parcel_id,
            "kind": stop.kind,
            "reason": reason,
        },
    )
    _finish_route_if_done(session, route=stop.route, at=at, actor=actor)


def _finish_route_if_done(
    session: Session, *, route: Route, at: datetime, actor: str
) -> None:
    # A van with nothing left to serve is free again; a lost one stays lost.
    if any(s.status is StopStatus.PLANNED for s in route.stops):
        return
    vehicle = route.vehicle
    if vehicle.status is VehicleStatus.ON_ROUTE:
        vehicle.status = VehicleStatus.AVAILABLE
    append_event(
        session,
        kind="RouteCompleted",
        subject=f"route:{route.id}",
        actor=actor,
        occurred_at=at,
        payload={"vehicle": vehicle.plate},
    )
