"""Placing orders and moving parcels through pickup and delivery."""

from __future__ import annotations

import logging
import re
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from controlroom.db import utcnow
from controlroom.errors import OrderError
from controlroom.journal import append_event
from controlroom.orders.codes import new_package_code, parse_code
from controlroom.orders.models import (
    IDEMPOTENCY_KEY_LENGTH,
    CustomerKind,
    OrderChannel,
    Parcel,
    ParcelStatus,
    Party,
    PartyKind,
)

logger = logging.getLogger(__name__)

_KEY = re.compile(r"[A-Za-z0-9._:-]+")


def register_party(
    session: Session,
    *,
    kind: PartyKind,
    name: str,
    phone: str,
    street: str,
    postcode: str,
    city: str,
    lat: float,
    lon: float,
    actor: str,
    customer_kind: CustomerKind = CustomerKind.NEW,
    at: datetime | None = None,
) -> Party:
    """Store a person's contact details and journal that they were registered."""
    if not name.strip() or not phone.strip():
        raise OrderError("A party needs a name and a phone number.")
    party = Party(
        kind=kind,
        name=name.strip(),
        phone=phone.strip(),
        street=street,
        postcode=postcode,
        city=city,
        lat=lat,
        lon=lon,
        customer_kind=customer_kind,
        # One clock reading for the row and its event, so a restore gives
        # the party back with the same created_at.
        created_at=utcnow() if at is None else at,
    )
    session.add(party)
    session.flush()

    # The full record is journalled so a restore can rebuild it; the analyst
    # view of the journal drops the payload of this kind (see analytics).
    append_event(
        session,
        kind="PartyRegistered",
        subject=f"party:{party.id}",
        actor=actor,
        occurred_at=party.created_at,
        payload={
            "kind": kind,
            "name": party.name,
            "phone": party.phone,
            "street": street,
            "postcode": postcode,
            "city": city,
            "lat": lat,
            "lon": lon,
            "customer_kind": customer_kind,
        },
    )
    return party


def _unused_code(session: Session) -> str:
    # 55 random bits make a clash vanishingly rare, but never impossible.
    for _ in range(5):
        code = new_package_code()
        taken = session.scalar(select(Parcel.id).where(Parcel.code == code))
        if taken is None:
            return code
    raise OrderError("Could not draw an unused package code; try again.")


def place_order(
    session: Session,
    *,
    sender: Party,
    recipient: Party,
    load: int,
    pickup_window: tuple[datetime, datetime],
    delivery_window: tuple[datetime, datetime],
    price_sat: int,
    ordered_at: datetime,
    actor: str,
    service_minutes: int = 5,
    channel: OrderChannel = OrderChannel.WEB_SHOP,
    idempotency_key: str | None = None,
    code: str | None = None,
) -> Parcel:
    """Create a parcel with a fresh package code and journal ``ParcelOrdered``.

    With an ``idempotency_key`` already used, the order placed under it is
    returned and nothing is stored or journalled again; register the
    parties only after :func:`find_order_by_key` found none, or they are
    stored twice. ``code`` is a package code the customer was already
    given (a fallback channel's), else a fresh one is drawn.
    """
    if idempotency_key is not None:
        _check_key(idempotency_key)
        placed = find_order_by_key(session, idempotency_key)
        if placed is not None:
            return placed
    if load <= 0:
        raise OrderError(f"A parcel's load must be positive, not {load}.")
    if price_sat <= 0:
        raise OrderError(f"A price must be a positive number of sat, not {price_sat}.")
    for label, (start, end) in (
        ("pickup", pickup_window),
        ("delivery", delivery_window),
    ):
        if end < start:
            raise OrderError(f"The {label} window ends before it starts.")

    parcel = Parcel(
        code=_unused_code(session) if code is None else _given_code(session, code),
        status=ParcelStatus.ORDERED,
        channel=channel,
        sender_id=sender.id,
        recipient_id=recipient.id,
        load=load,
        service_minutes=service_minutes,
        pickup_from=pickup_window[0],
        pickup_until=pickup_window[1],
        deliver_from=delivery_window[0],
        deliver_until=delivery_window[1],
        ordered_at=ordered_at,
        price_sat=price_sat,
    )
    if idempotency_key is not None:
        parcel.idempotency_key = idempotency_key
        placed = _insert_once(session, parcel, idempotency_key)
        if placed is not parcel:
            return placed
    else:
        session.add(parcel)
        session.flush()

    append_event(
        session,
        kind="ParcelOrdered",
        subject=parcel.subject,
        actor=actor,
        occurred_at=ordered_at,
        payload={
            "code": parcel.code,
            "channel": channel,
            "sender": sender.id,
            "recipient": recipient.id,
            "load": load,
            "service_minutes": service_minutes,
            "pickup_window": [pickup_window[0], pickup_window[1]],
            "delivery_window": [delivery_window[0], delivery_window[1]],
            "price_sat": price_sat,
            "idempotency_key": parcel.idempotency_key,
        },
    )
    logger.info("parcel ordered parcel=%s code=%s", parcel.id, parcel.code)
    return parcel


def find_order_by_key(session: Session, key: str) -> Parcel | None:
    """Return the parcel ordered under idempotency ``key``, if there is one."""
    return session.scalar(select(Parcel).where(Parcel.idempotency_key == key))


def _check_key(key: str) -> None:
    if not 8 <= len(key) <= IDEMPOTENCY_KEY_LENGTH or not _KEY.fullmatch(key):
        raise OrderError(
            f"An idempotency key is 8 to {IDEMPOTENCY_KEY_LENGTH} letters, "
            "digits or '-_.:' characters; generate one per order (a UUID)."
        )


def _given_code(session: Session, typed: str) -> str:
    code = parse_code(typed)
    if session.scalar(select(Parcel.id).where(Parcel.code == code)) is not None:
        raise OrderError(
            f"The package code {code} already belongs to another order; the "
            "order must be placed with a fresh code."
        )
    return code


def _insert_once(session: Session, parcel: Parcel, key: str) -> Parcel:
    # Two transactions can both find the key unused; on PostgreSQL the
    # second one's insert waits for the first and then breaks the unique
    # key. Its savepoint is rolled back and the first one's order returned.
    # (SQLite's writers queue before they read: BEGIN IMMEDIATE.)
    try:
        with session.begin_nested():
            session.add(parcel)
            session.flush()
    except IntegrityError:
        placed = find_order_by_key(session, key)
        if placed is None:
            raise
        return placed
    return parcel


def find_parcel(session: Session, *, code: str) -> Parcel:
    """Return the parcel with this package code, as typed by a person."""
    display = parse_code(code)
    parcel = session.scalar(select(Parcel).where(Parcel.code == display))
    if parcel is None:
        raise OrderError(f"No parcel has the package code {display}.")
    return parcel


def record_pickup(
    session: Session, *, parcel: Parcel, at: datetime, actor: str, via: str = "app"
) -> None:
    """Mark a parcel picked up and journal ``ParcelPickedUp``."""
    if parcel.status is not ParcelStatus.ORDERED:
        raise OrderError(
            f"Parcel {parcel.code} cannot be picked up: it is {parcel.status.value}."
        )
    parcel.status = ParcelStatus.PICKED_UP
    parcel.picked_up_at = at
    append_event(
        session,
        kind="ParcelPickedUp",
        subject=parcel.subject,
        actor=actor,
        occurred_at=at,
        payload={"code": parcel.code, "via": via},
    )


def record_delivery(
    session: Session, *, parcel: Parcel, at: datetime, actor: str, via: str = "app"
) -> None:
    """Mark a parcel delivered and journal ``ParcelDelivered``."""
    if parcel.status is not ParcelStatus.PICKED_UP:
        raise OrderError(
            f"Parcel {parcel.code} cannot be delivered: it is {parcel.status.value}."
        )
    parcel.status = ParcelStatus.DELIVERED
    parcel.delivered_at = at
    late = at > parcel.deliver_until
    append_event(
        session,
        kind="ParcelDelivered",
        subject=parcel.subject,
        actor=actor,
        occurred_at=at,
        payload={"code": parcel.code, "via": via, "late": late},
    )


def cancel_order(
    session: Session, *, parcel: Parcel, at: datetime, actor: str, reason: str
) -> None:
    """Cancel a parcel not yet picked up; journal ``ParcelCancelled``."""
    if parcel.status is not ParcelStatus.ORDERED:
        raise OrderError(
            f"Parcel {parcel.code} cannot be cancelled: it is {parcel.status.value}."
        )
    if not reason.strip():
        raise OrderError("Say why the order is cancelled.")
    parcel.status = ParcelStatus.CANCELLED
    append_event(
        session,
        kind="ParcelCancelled",
        subject=parcel.subject,
        actor=actor,
        occurred_at=at,
        payload={"code": parcel.code, "reason": reason},
    )
    logger.info("parcel cancelled parcel=%s reason=%s", parcel.id, reason)
