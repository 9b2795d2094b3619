"""The fleet and its plans: routes out, stops done, parcels follow."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy.orm import Session

from controlroom.dispatch.models import (
    Plan,
    PlanStatus,
    StopKind,
    StopStatus,
    Vehicle,
    VehicleStatus,
)
from controlroom.dispatch.service import (
    PlannedRoute,
    PlannedStop,
    add_depot,
    add_driver,
    add_vehicle,
    complete_stop,
    create_plan,
    publish_plan,
    published_plan,
    skip_stop,
)
from controlroom.errors import DispatchError, OrderError
from controlroom.orders.models import Parcel, ParcelStatus, PartyKind
from controlroom.orders.service import register_party
from tests.conftest import DAY
from tests.orders.world import customers, head_seq, kinds_after, order


@pytest.fixture
def van(session: Session) -> Vehicle:
    """A van with its driver at the Alnabru depot."""
    depot = add_depot(session, name="Alnabru", lat=59.93, lon=10.84, actor="ops")
    party = register_party(
        session,
        kind=PartyKind.DRIVER,
        name="Driver One",
        phone="+4790000009",
        street="Depotveien 1",
        postcode="0668",
        city="Oslo",
        lat=59.93,
        lon=10.84,
        actor="ops",
    )
    driver = add_driver(session, callsign="D01", party=party, area="east", actor="ops")
    return add_vehicle(
        session, plate="EL 12345", capacity=20, depot=depot, driver=driver, actor="ops"
    )


@pytest.fixture
def parcel(session: Session) -> Parcel:
    """An ordered parcel."""
    return order(session, *customers(session))


def plan_for(session: Session, van: Vehicle, parcel: Parcel, reason: str) -> Plan:
    stops = [
        PlannedStop(parcel, StopKind.PICKUP, DAY + timedelta(hours=2)),
        PlannedStop(parcel, StopKind.DELIVERY, DAY + timedelta(hours=5)),
    ]
    return create_plan(
        session,
        routes=[PlannedRoute(van, stops)],
        reason=reason,
        at=DAY,
        actor="dispatcher:anne",
    )


def test_registering_the_fleet_journals_each_part(session: Session) -> None:
    before = head_seq(session)
    depot = add_depot(session, name="Lodalen", lat=59.9, lon=10.78, actor="ops")

    vehicle = add_vehicle(
        session, plate="EL 1", capacity=10, depot=depot, driver=None, actor="ops"
    )

    assert (vehicle.lat, vehicle.lon) == (59.9, 10.78)
    assert vehicle.status is VehicleStatus.AVAILABLE
    assert kinds_after(session, before) == ["DepotAdded", "VehicleAdded"]


def test_a_vehicle_needs_room(session: Session) -> None:
    depot = add_depot(session, name="Lodalen", lat=59.9, lon=10.78, actor="ops")

    with pytest.raises(DispatchError, match="capacity must be positive, not 0"):
        add_vehicle(session, plate="X", capacity=0, depot=depot, driver=None, actor="o")


def test_plans_are_numbered_drafts(
    session: Session, van: Vehicle, parcel: Parcel
) -> None:
    before = head_seq(session)

    first = plan_for(session, van, parcel, "morning plan")
    second = plan_for(session, van, parcel, "re-plan")

    assert (first.version, second.version) == (1, 2)
    assert first.status is PlanStatus.DRAFT
    assert [s.sequence for s in first.routes[0].stops] == [1, 2]
    assert kinds_after(session, before) == ["PlanCreated", "PlanCreated"]


def test_publishing_supersedes_the_previous_plan(
    session: Session, van: Vehicle, parcel: Parcel
) -> None:
    first = plan_for(session, van, parcel, "morning plan")
    publish_plan(session, plan=first, at=DAY, actor="dispatcher:anne")
    second = plan_for(session, van, parcel, "van lost")
    before = head_seq(session)

    publish_plan(session, plan=second, at=DAY, actor="dispatcher:anne")

    assert (first.status, second.status) == (
        PlanStatus.SUPERSEDED,
        PlanStatus.PUBLISHED,
    )
    assert published_plan(session) is second
    assert van.status is VehicleStatus.ON_ROUTE
    assert kinds_after(session, before) == ["PlanPublished"]


def test_only_a_draft_can_be_published(
    session: Session, van: Vehicle, parcel: Parcel
) -> None:
    plan = plan_for(session, van, parcel, "morning plan")
    publish_plan(session, plan=plan, at=DAY, actor="dispatcher:anne")

    with pytest.raises(DispatchError, match="Plan 1 is published, not a draft"):
        publish_plan(session, plan=plan, at=DAY, actor="dispatcher:anne")


def test_completing_the_stops_moves_the_parcel_and_frees_the_van(
    session: Session, van: Vehicle, parcel: Parcel
) -> None:
    plan = plan_for(session, van, parcel, "morning plan")
    publish_plan(session, plan=plan, at=DAY, actor="dispatcher:anne")
    pickup, delivery = plan.routes[0].stops
    before = head_seq(session)

    complete_stop(session, stop=pickup, at=DAY + timedelta(hours=2), actor="D01")
    assert parcel.status is ParcelStatus.PICKED_UP
    assert (van.lat, van.lon) == (parcel.sender.lat, parcel.sender.lon)
    complete_stop(session, stop=delivery, at=DAY + timedelta(hours=5), actor="D01")

    assert parcel.status is ParcelStatus.DELIVERED
    assert (pickup.status, delivery.status) == (StopStatus.DONE, StopStatus.DONE)
    assert van.status is VehicleStatus.AVAILABLE
    assert van.seen_at == DAY + timedelta(hours=5)
    assert kinds_after(session, before) == [
        "ParcelPickedUp",
        "StopCompleted",
        "ParcelDelivered",
        "StopCompleted",
        "RouteCompleted",
    ]


def test_a_stop_is_not_completed_twice(
    session: Session, van: Vehicle, parcel: Parcel
) -> None:
    pickup = plan_for(session, van, parcel, "plan").routes[0].stops[0]
    complete_stop(session, stop=pickup, at=DAY, actor="D01")
    before = head_seq(session)

    with pytest.raises(DispatchError, match=f"Stop {pickup.id} is already done"):
        complete_stop(session, stop=pickup, at=DAY, actor="D01")

    assert kinds_after(session, before) == []


def test_a_delivery_stop_before_its_pickup_is_refused(
    session: Session, van: Vehicle, parcel: Parcel
) -> None:
    delivery = plan_for(session, van, parcel, "plan").routes[0].stops[1]

    with pytest.raises(OrderError, match="cannot be delivered: it is ordered"):
        complete_stop(session, stop=delivery, at=DAY, actor="D01")

    assert delivery.status is StopStatus.PLANNED


def test_skipping_the_last_stops_ends_the_route(
    session: Session, van: Vehicle, parcel: Parcel
) -> None:
    plan = plan_for(session, van, parcel, "plan")
    publish_plan(session, plan=plan, at=DAY, actor="dispatcher:anne")
    pickup, delivery = plan.routes[0].stops
    before = head_seq(session)

    skip_stop(session, stop=pickup, at=DAY, actor="anne", reason="road closed")
    skip_stop(session, stop=delivery, at=DAY, actor="anne", reason="road closed")

    assert van.status is VehicleStatus.AVAILABLE
    assert kinds_after(session, before) == [
        "StopSkipped",
        "StopSkipped",
        "RouteCompleted",
    ]


def test_a_skip_needs_a_reason_and_a_planned_stop(
    session: Session, van: Vehicle, parcel: Parcel
) -> None:
    pickup = plan_for(session, van, parcel, "plan").routes[0].stops[0]

    with pytest.raises(DispatchError, match="Say why the stop is skipped"):
        skip_stop(session, stop=pickup, at=DAY, actor="anne", reason="")
    complete_stop(session, stop=pickup, at=DAY, actor="D01")
    with pytest.raises(DispatchError, match="is already done"):
        skip_stop(session, stop=pickup, at=DAY, actor="anne", reason="late")
