"""Placing orders and moving parcels through pickup and delivery."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import inspect, select
from sqlalchemy.orm import Session

from controlroom.errors import OrderError, PackageCodeError
from controlroom.journal import JournalEvent
from controlroom.orders.codes import is_valid_code
from controlroom.orders.models import Parcel, ParcelStatus, Party, PartyKind
from controlroom.orders.service import (
    cancel_order,
    find_parcel,
    place_order,
    record_delivery,
    record_pickup,
    register_party,
)
from tests.conftest import DAY
from tests.orders.world import (
    RECIPIENT,
    SENDER,
    customers,
    head_seq,
    kinds_after,
    order,
)

PERSONAL_COLUMNS = {"name", "phone", "street", "postcode", "city", "lat", "lon"}


def test_registering_a_party_journals_it(session: Session) -> None:
    before = head_seq(session)

    sender, recipient = customers(session)

    assert kinds_after(session, before) == ["PartyRegistered", "PartyRegistered"]
    assert (sender.name, recipient.city) == ("Ingrid Sender", "Oslo")


@pytest.mark.parametrize(("name", "phone"), [("", "+47 1"), ("Ola", "  ")])
def test_a_party_needs_a_name_and_a_phone(
    session: Session, name: str, phone: str
) -> None:
    details = dict(SENDER, name=name, phone=phone)

    with pytest.raises(OrderError, match="needs a name and a phone number"):
        register_party(session, kind=PartyKind.CUSTOMER, actor="webshop", **details)


def test_placing_an_order_gives_a_package_code_and_journals_it(
    session: Session,
) -> None:
    sender, recipient = customers(session)
    before = head_seq(session)

    parcel = order(session, sender, recipient)

    assert is_valid_code(parcel.code)
    assert parcel.status is ParcelStatus.ORDERED
    assert kinds_after(session, before) == ["ParcelOrdered"]
    stored = session.scalar(
        select(JournalEvent.payload).where(JournalEvent.seq > before)
    )
    payload = json.loads(stored or "{}")
    assert payload["code"] == parcel.code
    assert payload["price_sat"] == 25_000


def test_only_the_parties_table_holds_personal_data(session: Session) -> None:
    sender, recipient = customers(session)
    parcel = order(session, sender, recipient)

    parcel_columns = {c.key for c in inspect(Parcel).columns}
    party_columns = {c.key for c in inspect(Party).columns}
    stored = session.execute(select(Parcel.__table__)).one()._mapping
    personal_values = {str(v) for v in (*SENDER.values(), *RECIPIENT.values())}

    assert not PERSONAL_COLUMNS & parcel_columns
    assert party_columns >= PERSONAL_COLUMNS
    assert not {str(value) for value in stored.values()} & personal_values
    assert parcel.sender.name == "Ingrid Sender"


def test_the_order_event_names_no_person(session: Session) -> None:
    sender, recipient = customers(session)
    before = head_seq(session)

    order(session, sender, recipient)

    payload = session.scalar(
        select(JournalEvent.payload).where(JournalEvent.seq > before)
    )
    assert payload is not None
    for value in (*SENDER.values(), *RECIPIENT.values()):
        assert str(value) not in payload


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"load": 0}, "load must be positive, not 0"),
        ({"price_sat": -1}, "positive number of sat, not -1"),
        (
            {"pickup_window": (DAY + timedelta(hours=2), DAY)},
            "pickup window ends before it starts",
        ),
        (
            {"delivery_window": (DAY + timedelta(hours=9), DAY)},
            "delivery window ends before it starts",
        ),
    ],
)
def test_an_impossible_order_is_refused(
    session: Session, change: dict[str, object], message: str
) -> None:
    sender, recipient = customers(session)
    before = head_seq(session)
    request: dict[str, object] = {
        "load": 2,
        "pickup_window": (DAY, DAY + timedelta(hours=2)),
        "delivery_window": (DAY, DAY + timedelta(hours=6)),
        "price_sat": 20_000,
    }
    request.update(change)

    with pytest.raises(OrderError, match=message):
        place_order(
            session,
            sender=sender,
            recipient=recipient,
            ordered_at=DAY,
            actor="webshop",
            **request,
        )

    assert kinds_after(session, before) == []


def test_a_parcel_is_found_by_its_code_as_a_person_types_it(
    session: Session,
) -> None:
    parcel = order(session, *customers(session))

    found = find_parcel(session, code=f"  {parcel.code.lower().replace('-', ' ')} ")

    assert found is parcel


def test_an_unknown_code_is_named(session: Session) -> None:
    with pytest.raises(OrderError, match="No parcel has the package code 0000-"):
        find_parcel(session, code="0000-0000-0000")


def test_a_mistyped_code_is_a_code_error(session: Session) -> None:
    with pytest.raises(PackageCodeError, match="this one has 3"):
        find_parcel(session, code="7KQ")


def test_pickup_then_delivery_journals_both(session: Session) -> None:
    parcel = order(session, *customers(session))
    before = head_seq(session)

    record_pickup(session, parcel=parcel, at=DAY + timedelta(hours=3), actor="D01")
    record_delivery(session, parcel=parcel, at=DAY + timedelta(hours=5), actor="D01")

    assert parcel.status is ParcelStatus.DELIVERED
    assert parcel.picked_up_at == DAY + timedelta(hours=3)
    assert kinds_after(session, before) == ["ParcelPickedUp", "ParcelDelivered"]


def test_a_delivery_after_its_window_is_marked_late(session: Session) -> None:
    parcel = order(session, *customers(session))
    record_pickup(session, parcel=parcel, at=DAY + timedelta(hours=3), actor="D01")

    record_delivery(session, parcel=parcel, at=DAY + timedelta(hours=9), actor="D01")

    payload = session.scalar(
        select(JournalEvent.payload).order_by(JournalEvent.seq.desc()).limit(1)
    )
    assert json.loads(payload or "{}")["late"] is True


def test_a_parcel_is_not_picked_up_twice(session: Session) -> None:
    parcel = order(session, *customers(session))
    record_pickup(session, parcel=parcel, at=DAY, actor="D01")
    before = head_seq(session)

    with pytest.raises(OrderError, match="cannot be picked up: it is picked_up"):
        record_pickup(session, parcel=parcel, at=DAY, actor="D01")

    assert kinds_after(session, before) == []


def test_a_parcel_is_not_delivered_before_its_pickup(session: Session) -> None:
    parcel = order(session, *customers(session))

    with pytest.raises(OrderError, match="cannot be delivered: it is ordered"):
        record_delivery(session, parcel=parcel, at=DAY, actor="D01")


def test_an_order_not_yet_picked_up_can_be_cancelled(session: Session) -> None:
    parcel = order(session, *customers(session))
    before = head_seq(session)

    cancel_order(session, parcel=parcel, at=DAY, actor="ops", reason="customer asked")

    assert parcel.status is ParcelStatus.CANCELLED
    assert kinds_after(session, before) == ["ParcelCancelled"]


def test_a_picked_up_parcel_cannot_be_cancelled(session: Session) -> None:
    parcel = order(session, *customers(session))
    record_pickup(session, parcel=parcel, at=DAY, actor="D01")

    with pytest.raises(OrderError, match="cannot be cancelled: it is picked_up"):
        cancel_order(session, parcel=parcel, at=DAY, actor="ops", reason="late")


def test_a_cancellation_needs_a_reason(session: Session) -> None:
    parcel = order(session, *customers(session))

    with pytest.raises(OrderError, match="Say why the order is cancelled"):
        cancel_order(session, parcel=parcel, at=DAY, actor="ops", reason=" ")
