"""Appending numbered events and changing the journal behind the service's back."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import Engine, select, text, update
from sqlalchemy.orm import Session

from controlroom.journal import JournalEvent, append_event, verify_journal
from tests.conftest import DAY

EVENTS = JournalEvent.metadata.tables["journal_events"]


def append_numbered(engine: Engine, count: int, *, start: int = 1) -> None:
    """Append ``count`` events, one transaction each, numbered from ``start``."""
    for number in range(start, start + count):
        with Session(engine) as session, session.begin():
            append_event(
                session,
                kind="ParcelPickedUp",
                subject=f"parcel:{number}",
                actor="driver:D01",
                payload={"number": number, "via": "app"},
                occurred_at=DAY + timedelta(minutes=number),
            )


def verify(engine: Engine, expected_head: tuple[int, str] | None = None) -> Any:
    """Verify the journal in a transaction of its own."""
    with Session(engine) as session, session.begin():
        return verify_journal(session, expected_head=expected_head)


def stored(engine: Engine, seq: int) -> dict[str, Any]:
    """One stored event as a dict of its columns."""
    with engine.connect() as connection:
        row = connection.execute(select(EVENTS).where(EVENTS.c.seq == seq)).one()
    return dict(row._mapping)


def tamper(engine: Engine, statement: Any, params: Any = None) -> None:
    """Change the journal behind the service's back, as an attacker would."""
    with engine.begin() as connection:
        connection.execute(statement, params or {})


def edit(engine: Engine, seq: int, **values: Any) -> None:
    """Overwrite columns of one stored event."""
    tamper(engine, update(EVENTS).where(EVENTS.c.seq == seq).values(**values))


def delete_from(engine: Engine, first_seq: int) -> None:
    """Cut the journal off from ``first_seq`` on."""
    tamper(engine, text("DELETE FROM journal_events WHERE seq >= :s"), {"s": first_seq})
