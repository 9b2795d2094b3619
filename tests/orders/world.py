"""A small delivery world for service tests: two customers and their parcel."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from controlroom.journal import JournalEvent, journal_head
from controlroom.orders.models import CustomerKind, Parcel, Party, PartyKind
from controlroom.orders.service import place_order, register_party
from tests.conftest import DAY

SENDER = {
    "name": "Ingrid Sender",
    "phone": "+4790000001",
    "street": "Storgata 1",
    "postcode": "0155",
    "city": "Oslo",
    "lat": 59.9127,
    "lon": 10.7461,
}
RECIPIENT = {
    "name": "Per Recipient",
    "phone": "+4790000002",
    "street": "Kirkeveien 64",
    "postcode": "0364",
    "city": "Oslo",
    "lat": 59.9296,
    "lon": 10.7167,
}


def customers(session: Session) -> tuple[Party, Party]:
    """Register the sender and the recipient."""
    sender = register_party(session, kind=PartyKind.CUSTOMER, actor="webshop", **SENDER)
    recipient = register_party(
        session,
        kind=PartyKind.CUSTOMER,
        actor="webshop",
        customer_kind=CustomerKind.REGULAR,
        **RECIPIENT,
    )
    return sender, recipient


def order(session: Session, sender: Party, recipient: Party, load: int = 3) -> Parcel:
    """Place an order for a parcel picked up 08-10 and delivered 10-14."""
    return place_order(
        session,
        sender=sender,
        recipient=recipient,
        load=load,
        pickup_window=(DAY + timedelta(hours=2), DAY + timedelta(hours=4)),
        delivery_window=(DAY + timedelta(hours=4), DAY + timedelta(hours=8)),
        price_sat=25_000,
        ordered_at=DAY,
        actor="webshop",
    )


def head_seq(session: Session) -> int:
    """The journal's newest sequence number."""
    return journal_head(session)[0]


def kinds_after(session: Session, seq: int) -> list[str]:
    """The kinds of the events appended after ``seq``, in order."""
    query = (
        select(JournalEvent.kind)
        .where(JournalEvent.seq > seq)
        .order_by(JournalEvent.seq)
    )
    return list(session.scalars(query))
