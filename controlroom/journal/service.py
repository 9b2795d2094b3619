"""Appending to the journal and verifying it, given a session."""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Insert, bindparam, event, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from controlroom.db import utcnow
from controlroom.errors import JournalBroken
from controlroom.journal.chain import (
    GENESIS_HASH,
    ChainProblem,
    EventDraft,
    find_first_problem,
    seal_events,
)
from controlroom.journal.models import JournalEvent, JournalHead

logger = logging.getLogger(__name__)

HEAD_ROW = 1


_EVENTS = JournalEvent.metadata.tables[JournalEvent.__tablename__]
_HEAD = JournalHead.metadata.tables[JournalHead.__tablename__]


def _insert_head_once(dialect: str) -> Insert:
    # Two first writers can both find no head row; the second one's insert
    # then waits for the first and does nothing, instead of failing.
    values = {"id": HEAD_ROW, "seq": 0, "hash": GENESIS_HASH}
    if dialect == "postgresql":
        return postgresql.insert(_HEAD).values(values).on_conflict_do_nothing()
    return sqlite.insert(_HEAD).values(values).on_conflict_do_nothing()


# Built once: building a statement costs more than running it on SQLite.
_READ_HEAD = select(_HEAD.c.seq, _HEAD.c.hash).where(_HEAD.c.id == HEAD_ROW)
_LOCK_HEAD = _READ_HEAD.with_for_update()
_MOVE_HEAD = (
    update(_HEAD)
    .where(_HEAD.c.id == HEAD_ROW)
    .values(seq=bindparam("new_seq"), hash=bindparam("new_hash"))
)
_INSERT_EVENTS = insert(_EVENTS)
# PostgreSQL runs a data-modifying WITH exactly once whether or not the
# insert reads it, so the last event's insert can move the head row too and
# save a round trip per transaction.
_INSERT_EVENT_AND_MOVE_HEAD = insert(_EVENTS).add_cte(_MOVE_HEAD.cte("moved_head"))


def _lock_head(connection: Connection) -> tuple[int, str]:
    # On SQLite the transaction already holds the write lock (BEGIN
    # IMMEDIATE, see controlroom.db); PostgreSQL locks the head row.
    dialect = connection.dialect.name
    query = _LOCK_HEAD if dialect == "postgresql" else _READ_HEAD
    head = connection.execute(query).one_or_none()
    if head is None:
        connection.execute(_insert_head_once(dialect))
        head = connection.execute(query).one()
    return head.seq, head.hash


# The head a transaction has locked and moved, kept on the session so the
# next append in the same transaction skips re-reading it. The lock is held
# until the transaction ends (BEGIN IMMEDIATE on SQLite, FOR UPDATE on
# PostgreSQL), so no other writer can move it meanwhile. Any rollback, a
# savepoint's included, forgets it: the head row is then read again.
_HEAD_CACHE = "controlroom.journal.head"


def _remembered_head(session: Session) -> tuple[int, str] | None:
    entry = session.info.get(_HEAD_CACHE)
    if entry is None or entry[0] is not session.get_transaction():
        return None
    head: tuple[int, str] = entry[1]
    return head


def _remember_head(session: Session, head: tuple[int, str]) -> None:
    session.info[_HEAD_CACHE] = (session.get_transaction(), head)


@event.listens_for(Session, "after_soft_rollback")
def _forget_head_on_rollback(session: Session, _previous: Any) -> None:
    session.info.pop(_HEAD_CACHE, None)


@event.listens_for(Session, "after_transaction_end")
def _forget_head_at_end(session: Session, transaction: Any) -> None:
    if transaction.parent is None:
        session.info.pop(_HEAD_CACHE, None)


def append_events(session: Session, drafts: Sequence[EventDraft]) -> list[int]:
    """Append events in order within the caller's transaction; return their seqs."""
    if not drafts:
        return []
    # Core statements on the session's connection: the ORM's bookkeeping
    # would cost more than the insert itself (benchmarks/bench_journal.py).
    connection = session.connection()
    seq, prev_hash = _remembered_head(session) or _lock_head(connection)
    recorded_at = utcnow()

    rows = seal_events(drafts, after=(seq, prev_hash), recorded_at=recorded_at)
    seq, prev_hash = rows[-1]["seq"], rows[-1]["hash"]

    moved_head = {"new_seq": seq, "new_hash": prev_hash}
    if connection.dialect.name == "postgresql":
        *earlier, last = rows
        if earlier:
            connection.execute(_INSERT_EVENTS, earlier)
        connection.execute(_INSERT_EVENT_AND_MOVE_HEAD, {**last, **moved_head})
    else:
        connection.execute(_INSERT_EVENTS, rows)
        connection.execute(_MOVE_HEAD, moved_head)
    _remember_head(session, (seq, prev_hash))
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
    # Columns, not the mapped object: appends update the row with Core
    # statements, which would leave a cached object stale.
    head = session.execute(_READ_HEAD).one_or_none()
    return (head.seq, head.hash) if head else (0, GENESIS_HASH)


def _stored_events(session: Session) -> Iterator[JournalEvent]:
    query = select(JournalEvent).order_by(JournalEvent.seq)
    yield from session.scalars(query.execution_options(yield_per=2000))


def verify_journal(
    session: Session, *, expected_head: tuple[int, str] | None = None
) -> tuple[int, str]:
    """Check the whole chain; return its head or raise ``JournalBroken``.

    The head row is the anchor that notices a cut-off tail. ``expected_head``
    is a ``(seq, hash)`` kept outside the database (an earlier verify, a
    backup manifest): that event must still be on the chain, which also
    notices a tail cut off together with a rewound head row. Events appended
    after it was taken are fine.
    """
    head = journal_head(session)
    problem: ChainProblem | None = find_first_problem(
        _stored_events(session), expected_head=head, checkpoint=expected_head
    )
    if problem is not None:
        logger.info("journal broken seq=%s problem=%s", problem.seq, problem.problem)
        raise JournalBroken(
            f"The journal is broken at event {problem.seq}: {problem.problem}.",
            seq=problem.seq,
            problem=problem.problem,
        )
    return head
