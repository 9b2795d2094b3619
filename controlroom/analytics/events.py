"""Parcel state events read from the journal, stripped of everything personal.

Only the event kinds listed in :data:`PARCEL_STATE_KINDS` and
:data:`INVOICE_KINDS` are ever selected, so a ``PartyRegistered`` payload
(names, phones, streets, coordinates) is not even read. From the payloads
that are read, only named non-personal fields are kept: never a package
code, a party, an actor, an address or a payment hash.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from controlroom.analytics.pseudonyms import pseudonym_key, pseudonymise
from controlroom.config import load_settings
from controlroom.db import read_only
from controlroom.journal.models import JournalEvent
from controlroom.schema import open_checked_database

PARCEL_STATES = ("ordered", "paid", "picked_up", "delivered", "cancelled")
PARCEL_STATE_KINDS = {
    "ParcelOrdered": "ordered",
    "InvoiceSettled": "paid",
    "ParcelPickedUp": "picked_up",
    "ParcelDelivered": "delivered",
    "ParcelCancelled": "cancelled",
}
INVOICE_KINDS = ("InvoiceIssued",)
EVENT_COLUMNS = (
    "parcel",
    "kind",
    "state",
    "occurred_at",
    "channel",
    "load",
    "payment_method",
    "deliver_until",
    "via",
    "late",
)


def open_database(url: str | None = None) -> Engine:
    """Open the control room's database, checked; the setting's by default."""
    return open_checked_database(url or load_settings().resolved_database_url)


def _zone(timezone: str | None) -> ZoneInfo:
    return ZoneInfo(timezone or load_settings().timezone)


def order_days(engine: Engine, *, timezone: str | None = None) -> list[date]:
    """Return the local days on which parcels were ordered, oldest first."""
    zone = _zone(timezone)
    query = select(JournalEvent.occurred_at).where(JournalEvent.kind == "ParcelOrdered")
    with Session(read_only(engine)) as session:
        moments = session.scalars(query).all()
    return sorted({moment.astimezone(zone).date() for moment in moments})


@dataclass
class _ParcelFacts:
    channel: str | None = None
    load: int | None = None
    deliver_until: datetime | None = None
    issued_method: str | None = None
    settled_method: str | None = None
    states: list[tuple[str, str, datetime, dict[str, Any]]] = field(
        default_factory=list
    )

    @property
    def payment_method(self) -> str | None:
        return self.settled_method or self.issued_method


def parcel_events(
    engine: Engine,
    *,
    day: date | None = None,
    timezone: str | None = None,
    key: bytes | None = None,
) -> pd.DataFrame:
    """Return one row per parcel state event, pseudonymised, oldest first.

    With ``day``, only parcels ordered on that local day (in ``timezone``,
    the setting by default) are included, with all their later events.
    Columns: ``parcel`` (pseudonym), ``kind`` (journal event kind),
    ``state`` (ordered, paid, picked_up, delivered, cancelled),
    ``occurred_at`` (UTC), and the parcel's non-personal facts ``channel``,
    ``load``, ``payment_method``, ``deliver_until`` (UTC), ``via`` (how a
    pickup or delivery was reported) and ``late`` (on delivery rows).
    """
    start: datetime | None = None
    end: datetime | None = None
    if day is not None:
        local_midnight = datetime.combine(day, time(), tzinfo=_zone(timezone))
        start = local_midnight.astimezone(UTC)
        end = (local_midnight + timedelta(days=1)).astimezone(UTC)
    secret = key if key is not None else pseudonym_key(load_settings())

    kinds = [*PARCEL_STATE_KINDS, *INVOICE_KINDS]
    query = select(
        JournalEvent.occurred_at,
        JournalEvent.kind,
        JournalEvent.subject,
        JournalEvent.payload,
    ).where(JournalEvent.kind.in_(kinds))
    if start is not None:
        # Nothing happens to a parcel before it is ordered.
        query = query.where(JournalEvent.occurred_at >= start)
    query = query.order_by(JournalEvent.seq)
    with Session(read_only(engine)) as session:
        rows = session.execute(query).all()

    parcels = _collect(rows)
    if start is not None and end is not None:
        parcels = {
            subject: facts
            for subject, facts in parcels.items()
            if any(
                state == "ordered" and start <= at < end
                for _, state, at, _ in facts.states
            )
        }
    return _frame(parcels, secret)


def _collect(
    rows: Iterable[tuple[datetime, str, str, str]],
) -> dict[str, _ParcelFacts]:
    parcels: dict[str, _ParcelFacts] = {}
    invoice_methods: dict[str, str] = {}

    for occurred_at, kind, subject, raw in rows:
        payload = json.loads(raw)
        if kind in ("InvoiceIssued", "InvoiceSettled"):
            facts = parcels.setdefault(f"parcel:{payload['parcel']}", _ParcelFacts())
        else:
            facts = parcels.setdefault(subject, _ParcelFacts())

        if kind == "InvoiceIssued":
            invoice_methods[subject] = payload["method"]
            facts.issued_method = payload["method"]
            continue
        if kind == "InvoiceSettled" and facts.settled_method is None:
            # The method of the invoice that was paid, not of an expired one.
            facts.settled_method = invoice_methods.get(subject)
        if kind == "ParcelOrdered":
            facts.channel = payload["channel"]
            facts.load = payload["load"]
            deliver_until = datetime.fromisoformat(payload["delivery_window"][1])
            facts.deliver_until = deliver_until.astimezone(UTC)
        facts.states.append((kind, PARCEL_STATE_KINDS[kind], occurred_at, payload))
    return parcels


def _frame(parcels: dict[str, _ParcelFacts], key: bytes) -> pd.DataFrame:
    records: list[dict[str, Any]] = []
    for subject, facts in parcels.items():
        if facts.channel is None:
            # Its order lies outside the rows read (an earlier day).
            continue
        pseudonym = pseudonymise(key, subject)
        for kind, state, at, payload in facts.states:
            records.append(
                {
                    "parcel": pseudonym,
                    "kind": kind,
                    "state": state,
                    "occurred_at": at,
                    "channel": facts.channel,
                    "load": facts.load,
                    "payment_method": facts.payment_method,
                    "deliver_until": facts.deliver_until,
                    "via": payload.get("via"),
                    "late": payload.get("late") if state == "delivered" else None,
                }
            )

    frame = pd.DataFrame.from_records(records, columns=list(EVENT_COLUMNS))
    frame = frame.astype(
        {
            "parcel": "string",
            "kind": "string",
            "channel": "string",
            "load": "Int64",
            "payment_method": "string",
            "via": "string",
            "late": "boolean",
        }
    )
    frame["state"] = pd.Categorical(
        frame["state"], categories=PARCEL_STATES, ordered=True
    )
    for column in ("occurred_at", "deliver_until"):
        frame[column] = pd.to_datetime(frame[column], utc=True)
    frame = frame.sort_values(["occurred_at", "state"], kind="stable")
    return frame.reset_index(drop=True)
