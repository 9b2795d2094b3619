"""Appending to the journal, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine, func, select, text
from sqlalchemy.orm import Session

from controlroom.db import create_db_engine
from controlroom.health.models import Component, ComponentKind, ComponentState
from controlroom.journal import (
    GENESIS_HASH,
    EventDraft,
    JournalEvent,
    append_event,
    append_events,
    journal_head,
    verify_journal,
)
from controlroom.journal.chain import event_hash
from controlroom.schema import upgrade_database
from tests.conftest import DAY
from tests.journal.tampering import append_numbered, stored, verify

OSLO = ZoneInfo("Europe/Oslo")


def _events(engine: Engine) -> list[JournalEvent]:
    with Session(engine) as session:
        return list(session.scalars(select(JournalEvent).order_by(JournalEvent.seq)))


def test_appended_events_form_a_chain_from_genesis(any_engine: Engine) -> None:
    append_numbered(any_engine, 5)

    events = _events(any_engine)

    assert [event.seq for event in events] == [1, 2, 3, 4, 5]
    assert events[0].prev_hash == GENESIS_HASH
    assert [e.prev_hash for e in events[1:]] == [e.hash for e in events[:-1]]
    assert len({event.hash for event in events}) == 5


def test_the_head_row_follows_the_newest_event(any_engine: Engine) -> None:
    append_numbered(any_engine, 3)

    with Session(any_engine) as session:
        head = journal_head(session)

    assert head == (3, stored(any_engine, 3)["hash"])
    assert verify(any_engine) == head


def test_an_empty_journal_verifies_at_genesis(any_engine: Engine) -> None:
    assert verify(any_engine) == (0, GENESIS_HASH)


def test_a_batch_gets_consecutive_numbers_after_the_head(any_engine: Engine) -> None:
    append_numbered(any_engine, 2)
    drafts = [EventDraft("DepotAdded", f"depot:{n}", "ops:kari") for n in range(3)]

    with Session(any_engine) as session, session.begin():
        seqs = append_events(session, drafts)

    assert seqs == [3, 4, 5]
    assert verify(any_engine)[0] == 5


def test_appending_nothing_writes_nothing(any_engine: Engine) -> None:
    with Session(any_engine) as session, session.begin():
        seqs = append_events(session, [])

    assert seqs == []
    assert _events(any_engine) == []


def test_the_stored_hash_seals_every_field(any_engine: Engine) -> None:
    with Session(any_engine) as session, session.begin():
        append_event(
            session,
            kind="InvoiceIssued",
            subject="invoice:1",
            actor="webshop",
            payload={"amount_sat": 21_000, "b": [1, 2], "a": "æøå"},
            occurred_at=DAY,
        )

    row = stored(any_engine, 1)

    assert row["payload"] == '{"a":"æøå","amount_sat":21000,"b":[1,2]}'
    assert row["hash"] == event_hash(
        seq=1,
        recorded_at=row["recorded_at"],
        occurred_at=row["occurred_at"],
        kind="InvoiceIssued",
        subject="invoice:1",
        actor="webshop",
        payload=row["payload"],
        prev_hash=GENESIS_HASH,
    )


def test_an_event_without_a_time_occurred_when_it_was_recorded(
    any_engine: Engine,
) -> None:
    with Session(any_engine) as session, session.begin():
        append_event(session, kind="Probed", subject="component:x", actor="probe")

    row = stored(any_engine, 1)

    assert row["occurred_at"] == row["recorded_at"]
    assert row["recorded_at"].tzinfo is not None


def test_the_event_lands_with_the_change_it_records(any_engine: Engine) -> None:
    with Session(any_engine) as session, session.begin():
        session.add(
            Component(
                key="web-shop",
                name="Web shop",
                kind=ComponentKind.WEB_SHOP,
                state=ComponentState.OPERATIONAL,
                state_since=DAY,
            )
        )
        append_event(session, kind="ComponentAdded", subject="c:1", actor="ops")

    with Session(any_engine) as session:
        components = session.scalar(select(func.count()).select_from(Component))
    assert components == 1
    assert [event.kind for event in _events(any_engine)] == ["ComponentAdded"]


def test_a_rolled_back_change_leaves_neither_change_nor_event(
    any_engine: Engine,
) -> None:
    append_numbered(any_engine, 2)
    head_before = verify(any_engine)

    with (
        pytest.raises(RuntimeError, match="the caller gave up"),
        Session(any_engine) as session,
        session.begin(),
    ):
        session.add(
            Component(
                key="sms",
                name="SMS gateway",
                kind=ComponentKind.SMS_GATEWAY,
                state=ComponentState.OPERATIONAL,
                state_since=DAY,
            )
        )
        append_event(session, kind="ComponentAdded", subject="c:2", actor="ops")
        raise RuntimeError("the caller gave up")

    with Session(any_engine) as session:
        components = session.scalar(select(func.count()).select_from(Component))
    assert components == 0
    assert [event.seq for event in _events(any_engine)] == [1, 2]
    assert verify(any_engine) == head_before


def test_the_chain_goes_on_after_a_rolled_back_append(any_engine: Engine) -> None:
    append_numbered(any_engine, 1)
    with Session(any_engine) as session, session.begin():
        append_event(session, kind="Lost", subject="parcel:9", actor="ops")
        session.rollback()

    append_numbered(any_engine, 1, start=2)

    assert verify(any_engine)[0] == 2


def test_a_savepoint_rolled_back_takes_its_events_with_it(any_engine: Engine) -> None:
    with Session(any_engine) as session, session.begin():
        append_event(session, kind="Kept", subject="parcel:1", actor="ops")
        savepoint = session.begin_nested()
        append_event(session, kind="Undone", subject="parcel:2", actor="ops")
        savepoint.rollback()
        append_event(session, kind="KeptToo", subject="parcel:3", actor="ops")

    assert [event.kind for event in _events(any_engine)] == ["Kept", "KeptToo"]
    assert verify(any_engine)[0] == 2


def test_appends_in_one_transaction_and_the_next_continue_one_chain(
    any_engine: Engine,
) -> None:
    with Session(any_engine) as session:
        with session.begin():
            for number in range(3):
                append_event(session, kind="First", subject=f"p:{number}", actor="a")
            savepoint = session.begin_nested()
            append_event(session, kind="InSavepoint", subject="p:3", actor="a")
            savepoint.commit()
        with session.begin():
            append_event(session, kind="Second", subject="p:4", actor="a")

    assert [event.seq for event in _events(any_engine)] == [1, 2, 3, 4, 5]
    assert verify(any_engine)[0] == 5


def test_the_head_read_in_the_appending_session_is_current(
    any_engine: Engine,
) -> None:
    with Session(any_engine) as session, session.begin():
        before = journal_head(session)
        append_event(session, kind="Seen", subject="invoice:1", actor="node")
        after = journal_head(session)

    assert before == (0, GENESIS_HASH)
    assert after[0] == 1


def test_times_in_another_zone_are_stored_as_the_same_instant_in_utc(
    any_engine: Engine,
) -> None:
    local = datetime(2026, 7, 1, 9, 30, 15, 123456, tzinfo=OSLO)

    with Session(any_engine) as session, session.begin():
        append_event(
            session,
            kind="ParcelDelivered",
            subject="parcel:1",
            actor="driver:D02",
            payload={"at": local},
            occurred_at=local,
        )

    row = stored(any_engine, 1)
    assert row["occurred_at"] == local
    assert row["occurred_at"].utcoffset() == timedelta(0)
    assert json.loads(row["payload"]) == {"at": "2026-07-01T09:30:15.123456+02:00"}
    assert verify(any_engine)[0] == 1


@pytest.mark.postgres
def test_the_chain_verifies_whatever_the_sessions_time_zone(
    postgres_url: str,
) -> None:
    engine = create_db_engine(postgres_url)
    upgrade_database(engine)
    append_numbered(engine, 3)
    new_york_noon = datetime(2026, 1, 15, 12, 0, tzinfo=ZoneInfo("America/New_York"))

    with Session(engine) as session, session.begin():
        session.execute(text("SET TIME ZONE 'Asia/Kathmandu'"))
        append_event(
            session, kind="Seen", subject="x:1", actor="a", occurred_at=new_york_noon
        )
        seq, _ = verify_journal(session)

    assert seq == 4
    assert stored(engine, 4)["occurred_at"] == datetime(2026, 1, 15, 17, tzinfo=UTC)
    engine.dispose()
