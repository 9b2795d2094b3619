"""Re-applying journalled order events to a restored database's tables.

A restore copies a snapshot and then appends the journal events shipped
after it; the events that carry an order's state are applied to the order
tables too, so every acknowledged order is back: ``PartyRegistered`` (its
payload is the full record, kept for exactly this), ``ParcelOrdered``,
``ParcelPickedUp``, ``ParcelDelivered`` and ``ParcelCancelled``. Each keeps
the row id its subject names (``party:7``, ``parcel:42``).

Every other kind stays in the journal only and is counted, so the restore
report can say so: its tables are as the snapshot left them.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Executable, bindparam, insert, select, update
from sqlalchemy.exc import IntegrityError

from controlroom.errors import RestoreRefused
from controlroom.orders.models import (
    CustomerKind,
    OrderChannel,
    Parcel,
    ParcelStatus,
    Party,
    PartyKind,
)

_PARTIES = Party.metadata.tables[Party.__tablename__]
_PARCELS = Parcel.metadata.tables[Parcel.__tablename__]
# ParcelOrdered does not journal the stop's service time; the default that
# place_order uses is the best we can restore until it does.
DEFAULT_SERVICE_MINUTES = 5


@dataclass
class Replay:
    """What a replay applied, and what it left in the journal only."""

    applied: Counter[str] = field(default_factory=Counter)
    journal_only: Counter[str] = field(default_factory=Counter)

    @property
    def parties(self) -> int:
        """Parties registered after the snapshot."""
        return self.applied["PartyRegistered"]

    @property
    def parcels(self) -> int:
        """Parcels ordered after the snapshot."""
        return self.applied["ParcelOrdered"]


def _row_id(event: Mapping[str, Any], prefix: str) -> int:
    subject: str = event["subject"]
    kind, _, number = subject.partition(":")
    if kind != prefix or not number.isdigit():
        raise RestoreRefused(
            f"Event {event['seq']} ({event['kind']}) has the subject {subject!r}, "
            f"not {prefix}:<id>; the journal cannot be re-applied."
        )
    return int(number)


def _party(event: Mapping[str, Any], body: Any) -> dict[str, Any]:
    return {
        "id": _row_id(event, "party"),
        "kind": PartyKind(body["kind"]),
        "name": body["name"],
        "phone": body["phone"],
        "street": body["street"],
        "postcode": body["postcode"],
        "city": body["city"],
        "lat": body["lat"],
        "lon": body["lon"],
        "customer_kind": CustomerKind(body["customer_kind"]),
        "created_at": event["occurred_at"],
    }


def _ordered(event: Mapping[str, Any], body: Any) -> dict[str, Any]:
    pickup = [datetime.fromisoformat(at) for at in body["pickup_window"]]
    delivery = [datetime.fromisoformat(at) for at in body["delivery_window"]]
    return {
        "id": _row_id(event, "parcel"),
        "code": body["code"],
        "idempotency_key": body["idempotency_key"],
        "status": ParcelStatus.ORDERED,
        "channel": OrderChannel(body["channel"]),
        "sender_id": body["sender"],
        "recipient_id": body["recipient"],
        "load": body["load"],
        "service_minutes": body.get("service_minutes", DEFAULT_SERVICE_MINUTES),
        "pickup_from": pickup[0],
        "pickup_until": pickup[1],
        "deliver_from": delivery[0],
        "deliver_until": delivery[1],
        "ordered_at": event["occurred_at"],
        "price_sat": body["price_sat"],
    }


def _moved(event: Mapping[str, Any], _body: Any) -> dict[str, Any]:
    return {"parcel": _row_id(event, "parcel"), "at": event["occurred_at"]}


def _move(status: ParcelStatus, column: str | None) -> Executable:
    values: dict[str, Any] = {"status": status}
    if column is not None:
        values[column] = bindparam("at", type_=_PARCELS.c[column].type)
    return update(_PARCELS).where(_PARCELS.c.id == bindparam("parcel")).values(values)


@dataclass(frozen=True)
class _Step:
    """How one kind of event is re-applied: its statement and its parameters."""

    statement: Executable
    params: Callable[[Mapping[str, Any], Any], dict[str, Any]]
    moves_parcel: bool = False


# Built once; a run of events of one kind goes to the database as one
# executemany, which is what lets a restore replay thousands of orders in
# well under a second (benchmarks/restore_bench.py).
_STEPS: dict[str, _Step] = {
    "PartyRegistered": _Step(insert(_PARTIES), _party),
    "ParcelOrdered": _Step(insert(_PARCELS), _ordered),
    "ParcelPickedUp": _Step(
        _move(ParcelStatus.PICKED_UP, "picked_up_at"), _moved, moves_parcel=True
    ),
    "ParcelDelivered": _Step(
        _move(ParcelStatus.DELIVERED, "delivered_at"), _moved, moves_parcel=True
    ),
    "ParcelCancelled": _Step(
        _move(ParcelStatus.CANCELLED, None), _moved, moves_parcel=True
    ),
}
REAPPLIED_KINDS = frozenset(_STEPS)
# Bounds one executemany, and the IN list that names a missing parcel.
RUN_LIMIT = 5_000


def _params(event: Mapping[str, Any], step: _Step) -> dict[str, Any]:
    try:
        return step.params(event, json.loads(event["payload"]))
    except (KeyError, ValueError, TypeError, IndexError) as exc:
        raise RestoreRefused(
            f"Event {event['seq']} ({event['kind']}) cannot be re-applied: its "
            f"payload lacks or garbles {exc}."
        ) from exc


def _apply_run(
    connection: Connection, kind: str, run: Sequence[Mapping[str, Any]]
) -> None:
    step = _STEPS[kind]
    params = [_params(event, step) for event in run]
    where = f"events {run[0]['seq']}..{run[-1]['seq']} ({kind})"
    try:
        changed = connection.execute(step.statement, params).rowcount
    except IntegrityError as exc:
        raise RestoreRefused(
            f"The {where} cannot be re-applied: a row they create is already in "
            "the snapshot, or names a party that is not; the journal and the "
            "snapshot do not belong together."
        ) from exc
    if step.moves_parcel and changed != len(run):
        known = set(
            connection.execute(
                select(_PARCELS.c.id).where(
                    _PARCELS.c.id.in_([p["parcel"] for p in params])
                )
            ).scalars()
        )
        missing = next(p["parcel"] for p in params if p["parcel"] not in known)
        raise RestoreRefused(
            f"Among the {where}, one is about parcel {missing}, which is neither "
            "in the snapshot nor ordered after it; the journal and the snapshot "
            "do not belong together."
        )


def reapply_orders(
    connection: Connection, events: Sequence[Mapping[str, Any]]
) -> Replay:
    """Apply the order events among ``events`` (in order) to the order tables."""
    replay = Replay()
    run: list[Mapping[str, Any]] = []
    for event in events:
        kind = event["kind"]
        if kind not in _STEPS:
            replay.journal_only[kind] += 1
            continue
        replay.applied[kind] += 1
        if run and (run[0]["kind"] != kind or len(run) == RUN_LIMIT):
            _apply_run(connection, run[0]["kind"], run)
            run = []
        run.append(event)
    if run:
        _apply_run(connection, run[0]["kind"], run)
    return replay
