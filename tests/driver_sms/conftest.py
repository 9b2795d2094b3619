"""A day with two drivers on a published plan, their phones registered.

Built on the small day of the screen tests (13:00 Oslo, 12:00 UTC), through
the services. Plan 2 is published:

======  ======================  ==========================================
driver  phone (PIN)             stops
======  ======================  ==========================================
D1      +47 912 34 567 (1234)   P5 (code 7KQ2-9XWM-4TCZ), P4, P7 (cancelled)
W1      +47 987 65 432 (8642)   P6
======  ======================  ==========================================

P3 is picked up but on no route; P1 is delivered.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

import controlroom.orders.service as order_service
from controlroom.broadcasts.models import Message
from controlroom.db import create_db_engine
from controlroom.dispatch.models import Depot, Driver, Stop, StopKind, Vehicle
from controlroom.dispatch.service import (
    PlannedRoute,
    PlannedStop,
    add_driver,
    add_vehicle,
    create_plan,
    publish_plan,
)
from controlroom.driver_sms.phones import register_phone
from controlroom.driver_sms.service import InboundOutcome, handle_inbound
from controlroom.journal import JournalEvent
from controlroom.orders.models import Parcel, Party, PartyKind
from controlroom.orders.service import cancel_order, place_order, register_party
from controlroom.schema import upgrade_database
from tests.overview.small_day import NOW, build_small_day

OSLO = ZoneInfo("Europe/Oslo")
AT = NOW + timedelta(minutes=30)
D1_PHONE = "+4791234567"
D1_PIN = "1234"
W1_PHONE = "+4798765432"
W1_PIN = "8642"
P5_CODE = "7KQ2-9XWM-4TCZ"
# What every text leaves behind, refused or not; templates load on first use.
_BOOKKEEPING = ["DriverTextReceived", "DriverReplyQueued", "MessageTemplatesLoaded"]


@dataclass(frozen=True)
class SmsDay:
    """The day's engine and its package codes (P0 to P7)."""

    engine: Engine
    codes: dict[str, str]

    def text(
        self, body: str, *, phone: str = D1_PHONE, at: datetime = AT
    ) -> InboundOutcome:
        """Hand one text to ``handle_inbound`` in a transaction of its own."""
        with Session(self.engine) as session, session.begin():
            return handle_inbound(session, phone=phone, text=body, at=at, zone=OSLO)

    def parcel(self, session: Session, name: str) -> Parcel:
        """The parcel called ``name``."""
        found = session.scalar(select(Parcel).where(Parcel.code == self.codes[name]))
        assert found is not None
        return found

    def state(self) -> tuple[object, ...]:
        """Everything a refused text must leave as it was."""
        with Session(self.engine) as session:
            parcels = session.execute(
                select(Parcel.code, Parcel.status, Parcel.picked_up_at).order_by(
                    Parcel.id
                )
            ).all()
            stops = session.execute(
                select(Stop.id, Stop.status, Stop.done_at).order_by(Stop.id)
            ).all()
            notices = session.scalars(
                select(Message.update_key).where(Message.update_key.not_like("reply:%"))
            ).all()
            events = session.scalars(
                select(JournalEvent.kind)
                .where(JournalEvent.kind.not_in(_BOOKKEEPING))
                .order_by(JournalEvent.seq)
            ).all()
        return tuple(parcels), tuple(stops), tuple(notices), tuple(events)

    def journal_text(self) -> str:
        """The whole journal, subjects, actors and payloads, as one string."""
        with Session(self.engine) as session:
            rows = session.execute(
                select(JournalEvent.kind, JournalEvent.actor, JournalEvent.payload)
            ).all()
        return "\n".join(json.dumps([*row], default=str) for row in rows)

    def events(self, kind: str) -> list[Event]:
        """The journal events of ``kind``, oldest first."""
        with Session(self.engine) as session:
            rows = session.execute(
                select(JournalEvent.subject, JournalEvent.actor, JournalEvent.payload)
                .where(JournalEvent.kind == kind)
                .order_by(JournalEvent.seq)
            ).all()
        return [Event(row[0], row[1], json.loads(row[2])) for row in rows]


@dataclass(frozen=True)
class Event:
    """A journal event as a test reads it."""

    subject: str
    actor: str
    payload: dict[str, Any]


def _driver_party(session: Session, name: str, phone: str) -> Party:
    return register_party(
        session,
        kind=PartyKind.DRIVER,
        name=name,
        phone=phone,
        street="Vestveien 3",
        postcode="0275",
        city="Oslo",
        lat=59.92,
        lon=10.68,
        actor="test",
        at=NOW,
    )


def _order(session: Session, sender: Party, recipient: Party) -> Parcel:
    return place_order(
        session,
        sender=sender,
        recipient=recipient,
        load=1,
        pickup_window=(NOW, NOW + timedelta(hours=3)),
        delivery_window=(NOW, NOW + timedelta(hours=5)),
        price_sat=25_000,
        ordered_at=NOW - timedelta(hours=1),
        actor="test",
    )


def build_sms_day(engine: Engine) -> dict[str, str]:
    """Build the day of the module docstring in ``engine``."""
    codes = dict(build_small_day(engine, users=False).codes)
    with Session(engine) as session, session.begin():
        d1 = session.scalars(select(Driver).where(Driver.callsign == "D1")).one()
        van1 = session.scalars(select(Vehicle).where(Vehicle.driver_id == d1.id)).one()
        depot = session.scalars(select(Depot)).one()
        w1 = add_driver(
            session,
            callsign="W1",
            party=_driver_party(session, "Driver Wenche", "+4790000010"),
            area="west",
            actor="test",
        )
        van2 = add_vehicle(
            session, plate="EV 10002", capacity=10, depot=depot, driver=w1, actor="t"
        )
        p4 = session.scalars(select(Parcel).where(Parcel.code == codes["P4"])).one()
        sender, recipient = p4.sender, p4.recipient

        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(order_service, "new_package_code", lambda: P5_CODE)
            p5 = _order(session, sender, recipient)
        p6 = _order(session, recipient, sender)
        p7 = _order(session, sender, recipient)

        def both(parcel: Parcel, hour: int) -> list[PlannedStop]:
            at = NOW + timedelta(hours=hour)
            return [
                PlannedStop(parcel, StopKind.PICKUP, at),
                PlannedStop(parcel, StopKind.DELIVERY, at + timedelta(minutes=30)),
            ]

        plan = create_plan(
            session,
            routes=[
                PlannedRoute(van1, [*both(p5, 1), *both(p4, 2), *both(p7, 3)]),
                PlannedRoute(van2, both(p6, 1)),
            ],
            reason="afternoon",
            at=NOW,
            actor="test",
        )
        publish_plan(session, plan=plan, at=NOW, actor="test")
        cancel_order(
            session, parcel=p7, at=NOW, actor="test", reason="sender called off"
        )
        register_phone(
            session,
            driver=d1,
            phone="+47 912 34 567",
            pin=D1_PIN,
            at=NOW,
            actor="dag",
        )
        register_phone(
            session, driver=w1, phone=W1_PHONE, pin=W1_PIN, at=NOW, actor="dag"
        )
        codes.update({"P5": p5.code, "P6": p6.code, "P7": p7.code})
    return codes


@pytest.fixture(scope="session")
def built_sms_day(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[Path, dict[str, str]]:
    """The day built once; each test gets a copy of its file."""
    folder = tmp_path_factory.mktemp("sms_day")
    engine = create_db_engine(f"sqlite:///{folder / 'day.sqlite3'}")
    upgrade_database(engine)
    codes = build_sms_day(engine)
    engine.dispose()
    return folder / "day.sqlite3", codes


@pytest.fixture
def sms_day(
    built_sms_day: tuple[Path, dict[str, str]], tmp_path: Path
) -> Iterator[SmsDay]:
    """The day of the module docstring, the test's own copy."""
    built, codes = built_sms_day
    target = tmp_path / "day.sqlite3"
    shutil.copy(built, target)
    engine = create_db_engine(f"sqlite:///{target}")
    yield SmsDay(engine, dict(codes))
    engine.dispose()
