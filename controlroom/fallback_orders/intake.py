"""Taking a web order so that the customer never sees an outage.

The order goes to the primary under its idempotency key
(:func:`controlroom.availability.in_doubt.submit_with_key`). While no
primary is writable -- it cannot be reached, it is read-only or in
recovery, or the commit stays in doubt, or another order's did moments
ago -- the order goes to the fallback spool under the same key and the
customer is told "accepted, pending" with the same package code (issue 6,
"Hot fail-over"). Merge back places it once: a commit that was in doubt
but did land is found by its key.

The package code is decided before the first attempt, so whichever path
takes the order, the customer's code is the one the parcel ends up with.
An order that is itself wrong is refused before anything is stored, and
never spooled: it would fail again at merge back, after "accepted".
"""

from __future__ import annotations

import logging
import math
import re
import threading
import time
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum

from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from controlroom.availability.durable import durable_transaction
from controlroom.availability.in_doubt import (
    RetryPolicy,
    outcome_unknown,
    submit_with_key,
)
from controlroom.backup.shipper import Shipper
from controlroom.errors import (
    BackupError,
    FallbackOrderError,
    OrderError,
    StorageError,
    WriteInDoubt,
)
from controlroom.fallback_orders.fallback_order import Contact, FallbackOrder
from controlroom.fallback_orders.spool import Spool, SpoolEntry
from controlroom.journal import journal_head
from controlroom.orders.codes import new_package_code, parse_code
from controlroom.orders.models import (
    IDEMPOTENCY_KEY_LENGTH,
    OrderChannel,
    Party,
    PartyKind,
)
from controlroom.orders.service import find_order_by_key, place_order, register_party

logger = logging.getLogger(__name__)

ACTOR = "webshop"

# A customer waits for the answer: one write and, when its outcome is
# unknown, one lookup, each bounded by INTAKE_TRANSACTION_TIMEOUT; then the
# spool. So a customer waits about 1 s at worst, and a primary that hangs
# holds two connections per order, not four. The Patroni drill
# (benchmarks/patroni_drill.py, BENCHMARKS.md) measured a longest answer of
# 7.3 s with three unbounded attempts, 3.0 s with two bounded ones, and
# 0.6 s with this and the hold-off below.
INTAKE_POLICY = RetryPolicy(attempts=1, first_delay=0.05, max_delay=0.05)

# How long one intake transaction on PostgreSQL may take, COMMIT included.
# A COMMIT waits for the synchronous standby, and right after a fail-over
# the new leader has none for a few seconds; past this bound the
# connection is severed and the order is in doubt (then spooled), never
# left waiting (controlroom.availability.durable). A healthy commit takes
# milliseconds.
INTAKE_TRANSACTION_TIMEOUT = 0.5

# A severed transaction's server process keeps waiting for the standby
# until one answers, holding a connection slot. At ten orders a second the
# two-node drill piled them up past max_connections and locked Patroni's
# own rejoin out. So once a write is in doubt the primary is left alone
# for PRIMARY_HOLD_OFF seconds: orders go straight to the spool.
PRIMARY_HOLD_OFF = 2.0
_held_off_until: weakref.WeakKeyDictionary[Engine, float] = weakref.WeakKeyDictionary()
_held_off_lock = threading.Lock()
_HELD_OFF = "the primary left a write in doubt moments ago; not asked again yet"

# PostgreSQL SQLSTATEs that say "this server takes no writes now" (Appendix
# A, Error Codes): class 08 connection exceptions, 25006
# read_only_sql_transaction (a standby, or default_transaction_read_only
# on a fenced old primary), 57P01-57P03 shutdown and "cannot connect now"
# (in recovery or starting up).
_UNWRITABLE_STATES = ("08", "25006", "57P01", "57P02", "57P03")

# The same rule the order service applies to a key, checked before the
# spool is ever involved.
_KEY = re.compile(r"[A-Za-z0-9._:-]+")


class Intake(StrEnum):
    """How an order was taken."""

    ACCEPTED = "accepted"
    ACCEPTED_PENDING = "accepted_pending"


@dataclass(frozen=True)
class Taken:
    """The answer to the customer: the package code, and where the order is.

    ``accepted``: the primary holds it. ``accepted_pending``: the spool holds
    it (``spool_seq``) until merge back; ``why`` says what the primary did.
    """

    intake: Intake
    code: str
    key: str
    why: str | None = None
    spool_seq: int | None = None


class OrderNotTaken(FallbackOrderError):
    """Neither the primary nor the spool took the order; ``key`` names it."""

    def __init__(self, message: str, *, key: str) -> None:
        super().__init__(message)
        self.key = key


def take_order(
    engine: Engine,
    spool: Spool,
    order: SpoolEntry,
    *,
    policy: RetryPolicy | None = None,
    shipper: Shipper | None = None,
) -> Taken:
    """Store a web order in the primary, or in the spool while it is away.

    ``order`` is the spool's own entry: key, channel ``web_shop``, time and a
    :class:`FallbackOrder` in its JSON form with both contacts complete. An
    empty ``code`` gets a fresh package code here. Raises the order's own
    error (``OrderError``, ``PackageCodeError``) for a bad order, and
    ``OrderNotTaken`` when the spool fails too.

    With a ``shipper``, an order the primary took is acknowledged only once
    the journal through it is in the backup store (ship before acknowledge,
    :meth:`Shipper.ship_through`). When the store does not take it -- the
    shipper has then raised the backup alarm -- the order is also written
    to the spool under its key and answered "accepted, pending": it is in
    two places, the primary and the fsync'd spool, though not yet off the
    machine, and merge back finds it present and adds nothing.
    """
    details = _checked(order)
    spooled = spool.find(order.key)
    if spooled is not None:
        code = str(spooled.order["code"])
    else:
        code = parse_code(details.code) if details.code else new_package_code()
    details = replace(details, code=code)

    if _held_off(engine):
        return _spool(spool, order, details, why=_HELD_OFF)
    try:
        code = _place_in_primary_once(engine, order, details, policy)
    except Exception as exc:
        if not _primary_unwritable(exc):
            raise
        return _spool(spool, order, details, why=_first_line(exc))
    if shipper is not None:
        try:
            _ship_through_head(engine, shipper)
        except BackupError as exc:
            return _spool(
                spool,
                order,
                replace(details, code=code),
                why=f"stored, but not yet in the backup: {_first_line(exc)}",
            )
    logger.info("web order accepted key=%s code=%s", order.key, code)
    return Taken(Intake.ACCEPTED, code, order.key)


def _ship_through_head(engine: Engine, shipper: Shipper) -> None:
    # The head read after the commit is at or past the order's own event.
    with Session(engine) as session:
        head_seq, _ = journal_head(session)
    shipper.ship_through(head_seq)


def _place_in_primary_once(
    engine: Engine,
    order: SpoolEntry,
    details: FallbackOrder,
    policy: RetryPolicy | None,
) -> str:
    codes: dict[str, str] = {}

    def write(key: str) -> None:
        _unless_held_off(engine, key)
        try:
            codes[key] = _place_in_primary(engine, order, details)
        except Exception as exc:
            if outcome_unknown(exc):
                _hold_off(engine)
            raise

    def is_stored(key: str) -> bool:
        _unless_held_off(engine, key)
        found = _code_in_primary(engine, key)
        if found is not None:
            codes[key] = found
        return found is not None

    submit_with_key(order.key, write, is_stored, policy=policy or INTAKE_POLICY)
    return codes.get(order.key, details.code)


def _place_in_primary(engine: Engine, order: SpoolEntry, details: FallbackOrder) -> str:
    # Parties are registered only when the key is new: a retry after an
    # in-doubt commit that did land finds the parcel and stores nothing.
    with _transaction(engine) as session:
        placed = find_order_by_key(session, order.key)
        if placed is not None:
            return placed.code
        at = order.received_at
        sender = _party(session, details.sender, at)
        recipient = _party(session, details.recipient, at)
        parcel = place_order(
            session,
            sender=sender,
            recipient=recipient,
            load=details.load,
            pickup_window=details.pickup_window,
            delivery_window=details.delivery_window,
            price_sat=details.price_sat,
            ordered_at=at,
            actor=ACTOR,
            channel=OrderChannel.WEB_SHOP,
            idempotency_key=order.key,
            code=details.code,
        )
        return parcel.code


def _code_in_primary(engine: Engine, key: str) -> str | None:
    # On PostgreSQL the lookup is a durable transaction as well: a row whose
    # commit was cut short is visible on the primary before the standby has
    # it, and must not count as stored until it does.
    with _transaction(engine) as session:
        placed = find_order_by_key(session, key)
        return None if placed is None else placed.code


def _held_off(engine: Engine) -> bool:
    with _held_off_lock:
        return time.monotonic() < _held_off_until.get(engine, 0.0)


def _hold_off(engine: Engine) -> None:
    with _held_off_lock:
        _held_off_until[engine] = time.monotonic() + PRIMARY_HOLD_OFF


def _unless_held_off(engine: Engine, key: str) -> None:
    if _held_off(engine):
        raise WriteInDoubt(f"Order {key}: {_HELD_OFF}.", key=key, attempts=0)


@contextmanager
def _transaction(engine: Engine) -> Iterator[Session]:
    if engine.dialect.name != "postgresql":
        with Session(engine) as session, session.begin():
            yield session
        return
    with (
        durable_transaction(engine, timeout=INTAKE_TRANSACTION_TIMEOUT) as connection,
        Session(bind=connection) as session,
    ):
        yield session
        session.flush()


def _party(session: Session, contact: Contact, at: datetime) -> Party:
    if contact.lat is None or contact.lon is None:  # refused by _checked
        raise OrderError(f"The address in {contact.postcode} has no place.")
    return register_party(
        session,
        kind=PartyKind.CUSTOMER,
        name=contact.name,
        phone=contact.phone,
        street=contact.street,
        postcode=contact.postcode,
        city=contact.city,
        lat=contact.lat,
        lon=contact.lon,
        actor=ACTOR,
        at=at,
    )


def _spool(
    spool: Spool, order: SpoolEntry, details: FallbackOrder, *, why: str
) -> Taken:
    try:
        accepted = spool.accept(
            key=order.key,
            channel=order.channel,
            order=details.as_json(),
            received_at=order.received_at,
        )
    except FallbackOrderError as exc:
        logger.error(
            "web order not taken key=%s primary=%s spool=%s", order.key, why, exc
        )
        raise OrderNotTaken(
            f"Order {order.key} was not taken: the primary database takes no "
            f"writes ({why}) and the fallback spool failed too ({exc}). Tell the "
            "customer to try again in a minute; nothing was stored.",
            key=order.key,
        ) from exc

    record = accepted.record
    logger.warning(
        "web order spooled key=%s code=%s seq=%s why=%s",
        order.key,
        record.order["code"],
        record.seq,
        why,
    )
    return Taken(
        Intake.ACCEPTED_PENDING,
        str(record.order["code"]),
        order.key,
        why=why,
        spool_seq=record.seq,
    )


def _primary_unwritable(exc: BaseException) -> bool:
    # WriteInDoubt: every attempt stayed unknown (unreachable, or a commit
    # whose fate nobody can tell); StorageError: our own "cannot be used".
    if isinstance(exc, WriteInDoubt | StorageError):
        return True
    if isinstance(exc, DBAPIError):
        state = str(getattr(exc.orig, "sqlstate", "") or "")
        return state.startswith(_UNWRITABLE_STATES)
    return False


def _checked(order: SpoolEntry) -> FallbackOrder:
    if order.channel != OrderChannel.WEB_SHOP.value:
        raise OrderError(
            f"Order {order.key} came through {order.channel!r}; only web shop "
            f"orders ({OrderChannel.WEB_SHOP.value!r}) are taken here."
        )
    if not 8 <= len(order.key) <= IDEMPOTENCY_KEY_LENGTH or not _KEY.fullmatch(
        order.key
    ):
        raise OrderError(
            f"An idempotency key is 8 to {IDEMPOTENCY_KEY_LENGTH} letters, "
            "digits or '-_.:' characters; generate one per order (a UUID)."
        )
    if order.received_at.tzinfo is None:
        raise OrderError(f"Order {order.key}: its time has no time zone; use UTC.")
    details = FallbackOrder.from_json(order.order)

    if details.load <= 0:
        raise OrderError(f"A parcel's load must be positive, not {details.load}.")
    if details.price_sat <= 0:
        raise OrderError(
            f"A price must be a positive number of sat, not {details.price_sat}."
        )
    for label, (start, end) in (
        ("pickup", details.pickup_window),
        ("delivery", details.delivery_window),
    ):
        if end < start:
            raise OrderError(f"The {label} window ends before it starts.")
    for role, contact in (("sender", details.sender), ("recipient", details.recipient)):
        _check_contact(role, contact)
    return details


def _check_contact(role: str, contact: Contact) -> None:
    # A web order is complete: merge back must not have to invent a street.
    for field in ("name", "phone", "street", "postcode", "city"):
        if not str(getattr(contact, field)).strip():
            raise OrderError(
                f"The {role}'s {field} is empty; the form must ask for it."
            )
    lat, lon = contact.lat, contact.lon
    if (
        lat is None
        or lon is None
        or not (math.isfinite(lat) and math.isfinite(lon))
        or not (-90 <= lat <= 90 and -180 <= lon <= 180)
    ):
        raise OrderError(
            f"The {role}'s address has no valid place (lat {lat}, lon {lon}); "
            "geocode it before taking the order."
        )


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
