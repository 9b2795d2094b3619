"""The small day of the screen tests, with a second driver in another area."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from controlroom.dispatch.models import Plan, PlanStatus
from controlroom.dispatch.service import add_driver
from controlroom.orders.models import Parcel, PartyKind
from controlroom.orders.service import register_party
from tests.overview.small_day import NOW, build_small_day


@dataclass(frozen=True)
class BroadcastDay:
    """The small day's engine and package codes (P0 to P4)."""

    engine: Engine
    codes: dict[str, str]

    def parcel(self, session: Session, name: str) -> Parcel:
        """The parcel called ``name`` in the small day's table."""
        parcel = session.scalar(select(Parcel).where(Parcel.code == self.codes[name]))
        assert parcel is not None
        return parcel

    def published_version(self, session: Session) -> int:
        """The version of the plan the small day published."""
        query = select(Plan.version).where(Plan.status == PlanStatus.PUBLISHED)
        version = session.scalar(query)
        assert version is not None
        return version


@pytest.fixture
def small_day(engine: Engine) -> Iterator[BroadcastDay]:
    """The small day at 13:00 Oslo, plus driver W1 in the west."""
    codes = build_small_day(engine, users=False).codes
    with Session(engine) as session, session.begin():
        party = register_party(
            session,
            kind=PartyKind.DRIVER,
            name="Driver Wenche",
            phone="+4790000010",
            street="Vestveien 3",
            postcode="0275",
            city="Oslo",
            lat=59.92,
            lon=10.68,
            actor="test",
            at=NOW,
        )
        add_driver(session, callsign="W1", party=party, area="west", actor="test")
    yield BroadcastDay(engine, codes)
