"""The journal as the journal screen shows it: newest first, few payloads.

Payloads are left out on purpose: a ``PartyRegistered`` payload holds a
person's contact details. Only the words people wrote to explain their own
decisions are shown (``DECISION_WORDS``): a declaration's summary, a
re-plan's reason.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from controlroom.errors import JournalBroken
from controlroom.journal import JournalEvent, verify_journal

JOURNAL_SCREEN_LIMIT = 200
# Event kinds whose payload field is a decision in the words of the person
# who made it, safe to show: never an address, a phone or a name.
DECISION_WORDS = {
    "DegradationDeclared": "summary",
    "DegradationEnded": "summary",
    "PlanCreated": "reason",
    "StopSkipped": "reason",
}


@dataclass(frozen=True)
class JournalRow:
    """One event as listed: what happened, to what, by whom, when."""

    seq: int
    occurred_at: datetime
    recorded_at: datetime
    kind: str
    subject: str
    actor: str
    what: str = ""


def latest_events(
    session: Session,
    *,
    kinds: tuple[str, ...] = (),
    subject: str = "",
    limit: int = JOURNAL_SCREEN_LIMIT,
) -> list[JournalRow]:
    """Return the newest events, narrowed to ``kinds`` and a subject prefix."""
    query = select(
        JournalEvent.seq,
        JournalEvent.occurred_at,
        JournalEvent.recorded_at,
        JournalEvent.kind,
        JournalEvent.subject,
        JournalEvent.actor,
        JournalEvent.payload,
    )
    if kinds:
        query = query.where(JournalEvent.kind.in_(kinds))
    if subject.strip():
        query = query.where(
            JournalEvent.subject.startswith(subject.strip(), autoescape=True)
        )
    query = query.order_by(JournalEvent.seq.desc()).limit(limit)
    rows = session.connection().execute(query).all()
    return [JournalRow(*row[:6], _decision(row[3], row[6])) for row in rows]


def _decision(kind: str, payload: str) -> str:
    field = DECISION_WORDS.get(kind)
    if field is None:
        return ""
    try:
        value = json.loads(payload).get(field, "")
    except (ValueError, AttributeError):
        return ""
    return str(value)[:200]


def event_kinds(session: Session) -> list[str]:
    """Return every kind of event the journal holds, alphabetically."""
    query = select(JournalEvent.kind).distinct().order_by(JournalEvent.kind)
    return list(session.scalars(query))


@dataclass(frozen=True)
class JournalCheck:
    """The outcome of re-hashing the whole journal."""

    intact: bool
    head_seq: int
    head_hash: str
    broken_seq: int | None = None
    problem: str = ""
    message: str = ""


def check_journal(session: Session) -> JournalCheck:
    """Verify the hash chain; report the head, or the first bad event."""
    try:
        seq, digest = verify_journal(session)
    except JournalBroken as exc:
        return JournalCheck(False, 0, "", exc.seq, exc.problem, str(exc))
    return JournalCheck(True, seq, digest)
