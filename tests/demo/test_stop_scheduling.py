"""The services the demo added: scheduling stops, skipping them, cancelling."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from controlroom.dispatch.models import Route, StopStatus, VehicleStatus
from controlroom.dispatch.service import (
    PlannedRoute,
    StopSlot,
    add_depot,
    add_vehicle,
    create_plan,
    publish_plan,
    schedule_stops,
    skip_stop,
)
from controlroom.errors import DispatchError, OrderError
from controlroom.journal.models import JournalEvent
from controlroom.orders.models import Parcel, ParcelStatus, PartyKind
from controlroom.orders.service import cancel_order, place_order, register_party

NINE = datetime(2026, 12, 4, 8, 0, tzinfo=UTC)


def _parcel(session: Session) -> Parcel:
    party = register_party(
        session,
        kind=PartyKind.CUSTOMER,
        name="Kari Nordmann",
        phone="+47 400 00 000",
        street="Testveien 1",
        postcode="0150",
        city="Oslo",
        lat=59.91,
        lon=10.75,
        actor="test",
    )
    return place_order(
        session,
        sender=party,
        recipient=party,
        load=10,
        pickup_window=(NINE, NINE + timedelta(hours=1)),
        delivery_window=(NINE, NINE + timedelta(hours=3)),
        price_sat=24_000,
        ordered_at=NINE - timedelta(hours=1),
        actor="test",
    )


def _route(session: Session) -> Route:
    depot = add_depot(session, name="Depot", lat=59.91, lon=10.75, actor="test")
    van = add_vehicle(
        session, plate="CP 1", capacity=200, depot=depot, driver=None, actor="test"
    )
    plan = create_plan(
        session, routes=[PlannedRoute(van, ())], reason="test", at=NINE, actor="test"
    )
    publish_plan(session, plan=plan, at=NINE, actor="test")
    return plan.routes[0]


def test_scheduled_stops_take_their_sequence_and_put_the_van_on_route(
    session: Session,
) -> None:
    route, parcel = _route(session), _parcel(session)

    pickup, delivery = schedule_stops(
        session,
        route=route,
        parcel=parcel,
        pickup=StopSlot(3, NINE),
        delivery=StopSlot(7, NINE + timedelta(hours=1)),
        at=NINE,
        actor="route-scheduler",
    )

    event = session.scalars(
        select(JournalEvent).where(JournalEvent.kind == "StopsScheduled")
    ).one()
    assert [s.sequence for s in route.stops] == [3, 7]
    assert (pickup.kind.value, delivery.kind.value) == ("pickup", "delivery")
    assert route.vehicle.status is VehicleStatus.ON_ROUTE
    assert event.subject == parcel.subject


def test_a_delivery_before_its_pickup_is_refused(session: Session) -> None:
    route, parcel = _route(session), _parcel(session)

    with pytest.raises(DispatchError, match="pickup must come before the delivery"):
        schedule_stops(
            session,
            route=route,
            parcel=parcel,
            pickup=StopSlot(5, NINE),
            delivery=StopSlot(2, NINE),
            at=NINE,
            actor="test",
        )


def test_a_taken_sequence_number_is_refused(session: Session) -> None:
    route, first, second = _route(session), _parcel(session), _parcel(session)
    schedule_stops(
        session,
        route=route,
        parcel=first,
        pickup=StopSlot(1, NINE),
        delivery=StopSlot(2, NINE),
        at=NINE,
        actor="test",
    )

    with pytest.raises(DispatchError, match="already has a stop at sequence 2"):
        schedule_stops(
            session,
            route=route,
            parcel=second,
            pickup=StopSlot(2, NINE),
            delivery=StopSlot(4, NINE),
            at=NINE,
            actor="test",
        )


def test_skipping_the_last_stops_completes_the_route(session: Session) -> None:
    route, parcel = _route(session), _parcel(session)
    stops = schedule_stops(
        session,
        route=route,
        parcel=parcel,
        pickup=StopSlot(1, NINE),
        delivery=StopSlot(2, NINE),
        at=NINE,
        actor="test",
    )

    for stop in stops:
        skip_stop(session, stop=stop, at=NINE, actor="driver:D01", reason="cancelled")

    kinds = session.scalars(select(JournalEvent.kind).order_by(JournalEvent.seq)).all()
    assert [s.status for s in stops] == [StopStatus.SKIPPED, StopStatus.SKIPPED]
    assert kinds[-3:] == ["StopSkipped", "StopSkipped", "RouteCompleted"]
    assert route.vehicle.status is VehicleStatus.AVAILABLE
    with pytest.raises(DispatchError, match="already skipped"):
        skip_stop(session, stop=stops[0], at=NINE, actor="test", reason="again")


def test_an_ordered_parcel_can_be_cancelled_once(session: Session) -> None:
    parcel = _parcel(session)

    cancel_order(session, parcel=parcel, at=NINE, actor="web-shop", reason="unpaid")

    assert parcel.status is ParcelStatus.CANCELLED
    with pytest.raises(OrderError, match="cannot be cancelled: it is cancelled"):
        cancel_order(session, parcel=parcel, at=NINE, actor="web-shop", reason="x")
