"""Orders placed and moved through the services, and the rows to compare.

Every change goes through ``controlroom.orders.service``, one transaction
each, as the web shop and the drivers' app make them, so the journal holds
exactly what a restore must replay.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from controlroom.journal import JournalEvent, append_event
from controlroom.orders.models import Parcel, Party, PartyKind
from controlroom.orders.service import (
    cancel_order,
    find_parcel,
    place_order,
    record_delivery,
    record_pickup,
    register_party,
)
from tests.conftest import DAY


def place_orders(engine: Engine, count: int, *, first: int = 1) -> list[str]:
    """Register a sender and a recipient and place ``count`` orders; their codes."""
    codes = []
    for number in range(first, first + count):
        at = DAY + timedelta(minutes=number)
        with Session(engine) as session, session.begin():
            sender, recipient = (
                register_party(
                    session,
                    kind=PartyKind.CUSTOMER,
                    name=f"{role} {number}",
                    phone=f"+47 400 {number:05d}",
                    street=f"Storgata {number}",
                    postcode="0155",
                    city="Oslo",
                    lat=59.91,
                    lon=10.75,
                    actor="webshop",
                    at=at,
                )
                for role in ("Sender", "Recipient")
            )
            parcel = place_order(
                session,
                sender=sender,
                recipient=recipient,
                load=1 + number % 3,
                service_minutes=5 + number % 7,  # not the default: restore keeps it
                pickup_window=(at, at + timedelta(hours=2)),
                delivery_window=(at + timedelta(hours=2), at + timedelta(hours=6)),
                price_sat=25_000 + number,
                ordered_at=at,
                actor="webshop",
                idempotency_key=f"order-key-{number:06d}",
            )
            codes.append(parcel.code)
    return codes


def move(engine: Engine, code: str, *, to: str) -> None:
    """Pick a parcel up, deliver it (after a pickup) or cancel it."""
    with Session(engine) as session, session.begin():
        parcel = find_parcel(session, code=code)
        at = parcel.ordered_at + timedelta(hours=1)
        if to == "picked_up":
            record_pickup(session, parcel=parcel, at=at, actor="driver:D01")
        elif to == "delivered":
            record_pickup(session, parcel=parcel, at=at, actor="driver:D01")
            later = at + timedelta(hours=1)
            record_delivery(session, parcel=parcel, at=later, actor="driver:D01")
        elif to == "cancelled":
            cancel_order(
                session, parcel=parcel, at=at, actor="webshop", reason="changed mind"
            )
        else:
            raise ValueError(to)


def note_component(engine: Engine, name: str) -> None:
    """Journal an event no restore re-applies to its table."""
    with Session(engine) as session, session.begin():
        append_event(
            session,
            kind="ComponentReported",
            subject=f"component:{name}",
            actor="health",
            payload={"state": "degraded"},
        )


def order_rows(engine: Engine) -> list[dict[str, Any]]:
    """Every parcel and party, as column dicts, in id order."""
    rows: list[dict[str, Any]] = []
    with engine.connect() as connection:
        for table in (Party.__table__, Parcel.__table__):
            query = select(table).order_by(table.c.id)
            rows += [dict(row._mapping) for row in connection.execute(query)]
    return rows


def journal_rows(engine: Engine) -> list[dict[str, Any]]:
    """Every journal event, as column dicts, in order."""
    with engine.connect() as connection:
        query = select(JournalEvent.__table__).order_by(JournalEvent.seq)
        return [dict(row._mapping) for row in connection.execute(query)]
