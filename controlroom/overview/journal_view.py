"""The journal as the journal screen shows it: newest first, no payloads.

Payloads are left out on purpose: a ``PartyRegistered`` payload holds a
person's contact details, and the screen is open to analysts.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from controlroom.errors import JournalBroken
from controlroom.journal import JournalEvent, verify_journal

JOURNAL_SCREEN_LIMIT = 200


@dataclass(frozen=True)
class JournalRow:
    """One event as listed: what happened, to what, by whom, when."""

    seq: int
    occurred_at: datetime
    recorded_at: datetime
    kind: str
    subject: str
    actor: str


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
    )
    if kinds:
        query = query.where(JournalEvent.kind.in_(kinds))
    if subject.strip():
        query = query.where(
            JournalEvent.subject.startswith(subject.strip(), autoescape=True)
        )
    query = query.order_by(JournalEvent.seq.desc()).limit(limit)
    return [JournalRow(*row) for row in session.connection().execute(query).all()]


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
