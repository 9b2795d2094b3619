"""Appending to the journal and verifying it, given a session."""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from controlroom.db import utcnow
from controlroom.errors import JournalBroken
from controlroom.journal.chain import (
    GENESIS_HASH,
    ChainProblem,
    canonical_payload,
    event_hash,
    find_first_problem,
)
from controlroom.journal.models import JournalEvent, JournalHead

logger = logging.getLogger(__name__)

HEAD_ROW = 1


@dataclass(frozen=True)
class EventDraft:
    """An event to append: past-tense kind, subject like ``parcel:42``."""

    kind: str
    subject: str
    actor: str
    payload: Mapping[str, Any] = field(default_factory=dict)
    occurred_at: datetime | None = None


def _lock_head(session: Session) -> tuple[int, str]:
    query = select(JournalHead).where(JournalHead.id == HEAD_ROW)
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update()
    head = session.execute(query).scalar_one_or_none()
    if head is None:
        session.add(JournalHead(id=HEAD_ROW, seq=0, hash=GENESIS_HASH))
        session.flush()
        return 0, GENESIS_HASH
    return head.seq, head.hash


def append_events(session: Session, drafts: Sequence[EventDraft]) -> list[int]:
    """Append events in order within the caller's transaction; return their seqs."""
    if not drafts:
        return []
    seq, prev_hash = _lock_head(session)
    recorded_at = utcnow()

    rows: list[dict[str, Any]] = []
    for draft in drafts:
        seq += 1
        occurred_at = (draft.occurred_at or recorded_at).astimezone(UTC)
        payload = canonical_payload(draft.payload)
        digest = event_hash(
            seq=seq,
            recorded_at=recorded_at,
            occurred_at=occurred_at,
            kind=draft.kind,
            subject=draft.subject,
            actor=draft.actor,
            payload=payload,
            prev_hash=prev_hash,
        )
        rows.append(
            {
                "seq": seq,
                "recorded_at": recorded_at,
                "occurred_at": occurred_at,
                "kind": draft.kind,
                "subject": draft.subject,
                "actor": draft.actor,
                "payload": payload,
                "prev_hash": prev_hash,
                "hash": digest,
            }
        )
        prev_hash = digest

    session.execute(insert(JournalEvent), rows)
    session.execute(
        update(JournalHead)
        .where(JournalHead.id == HEAD_ROW)
        .values(seq=seq, hash=prev_hash)
    )
    return [row["seq"] for row in rows]


def append_event(
    session: Session,
    *,
    kind: str,
    subject: str,
    actor: str,
    payload: Mapping[str, Any] | None = None,
    occurred_at: datetime | None = None,
) -> int:
    """Append one event within the caller's transaction; return its seq."""
    draft = EventDraft(kind, subject, actor, payload or {}, occurred_at)
    return append_events(session, [draft])[0]


def journal_head(session: Session) -> tuple[int, str]:
    """Return the head row's ``(seq, hash)``; ``(0, genesis)`` when empty."""
    head = session.get(JournalHead, HEAD_ROW)
    return (head.seq, head.hash) if head else (0, GENESIS_HASH)


def _stored_events(session: Session) -> Iterator[JournalEvent]:
    query = select(JournalEvent).order_by(JournalEvent.seq)
    yield from session.scalars(query.execution_options(yield_per=2000))


def verify_journal(
    session: Session, *, expected_head: tuple[int, str] | None = None
) -> tuple[int, str]:
    """Check the whole chain; return its head or raise ``JournalBroken``.

    Without ``expected_head`` the head row in the database is the anchor.
    """
    anchor = expected_head or journal_head(session)
    problem: ChainProblem | None = find_first_problem(
        _stored_events(session), expected_head=anchor
    )
    if problem is not None:
        logger.warning("journal broken seq=%s problem=%s", problem.seq, problem.problem)
        raise JournalBroken(
            f"The journal is broken at event {problem.seq}: {problem.problem}.",
            seq=problem.seq,
            problem=problem.problem,
        )
    return anchor
