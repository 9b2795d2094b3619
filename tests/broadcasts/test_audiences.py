"""Audiences on the small day: drivers, an area, affected and open customers."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from controlroom.broadcasts.audiences import Audience, AudienceKind, audience_parties
from controlroom.errors import BroadcastError
from controlroom.orders.models import Party
from tests.broadcasts.conftest import BroadcastDay


def _names(session: Session, audience: Audience) -> list[str]:
    return [p.name for p in audience_parties(session, audience)]


def test_all_drivers_and_drivers_in_one_area(small_day: BroadcastDay) -> None:
    with Session(small_day.engine) as session, session.begin():
        everyone = _names(session, Audience(AudienceKind.ALL_DRIVERS))
        west = _names(session, Audience(AudienceKind.DRIVERS_IN_AREA, area="west"))

    assert everyone == ["Driver Dina", "Driver Wenche"]
    assert west == ["Driver Wenche"]


def test_customers_with_open_orders_are_each_counted_once(
    small_day: BroadcastDay,
) -> None:
    # P3 (picked up) and P4 (ordered) are open; both are between Kari and Ola.
    with Session(small_day.engine) as session, session.begin():
        names = _names(session, Audience(AudienceKind.OPEN_ORDER_CUSTOMERS))

    assert names == ["Kari Nordmann", "Ola Hansen"]


def test_affected_customers_by_postcode_leave_out_finished_parcels(
    small_day: BroadcastDay,
) -> None:
    with Session(small_day.engine) as session, session.begin():
        by_postcode = _names(
            session, Audience(AudienceKind.AFFECTED_CUSTOMERS, postcodes=("0150",))
        )
        elsewhere = _names(
            session, Audience(AudienceKind.AFFECTED_CUSTOMERS, postcodes=("9999",))
        )

    assert by_postcode == ["Kari Nordmann", "Ola Hansen"]
    assert elsewhere == []


def test_affected_customers_by_package_code_typed_loosely(
    small_day: BroadcastDay,
) -> None:
    with Session(small_day.engine) as session, session.begin():
        typed = small_day.codes["P4"].lower()
        found = [
            p.id
            for p in audience_parties(
                session, Audience(AudienceKind.AFFECTED_CUSTOMERS, codes=(typed,))
            )
        ]
        delivered = audience_parties(
            session,
            Audience(AudienceKind.AFFECTED_CUSTOMERS, codes=(small_day.codes["P1"],)),
        )
        parcel = small_day.parcel(session, "P4")
        expected = sorted([parcel.sender_id, parcel.recipient_id])
        kinds = set(session.scalars(select(Party.kind).where(Party.id.in_(expected))))

    assert found == expected
    assert delivered == []
    assert {k.value for k in kinds} == {"customer"}


def test_an_audience_missing_what_narrows_it_is_refused() -> None:
    with pytest.raises(BroadcastError, match="Name the area"):
        Audience(AudienceKind.DRIVERS_IN_AREA)
    with pytest.raises(BroadcastError, match="postcode or package code"):
        Audience(AudienceKind.AFFECTED_CUSTOMERS)
