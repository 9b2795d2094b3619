"""Writers appending at the same time lose nothing and keep one chain."""

from __future__ import annotations

import json
import threading
from collections import defaultdict

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from controlroom.db import create_db_engine
from controlroom.journal import EventDraft, JournalEvent, append_event, append_events
from controlroom.schema import upgrade_database
from tests.journal.tampering import verify

WRITERS = 2
SINGLE_APPENDS = 120
BATCHES = 10
BATCH_SIZE = 8


def write_concurrently(engine: Engine, writer: int, start: threading.Barrier) -> None:
    """Append single events and small batches, each in its own transaction."""
    start.wait()
    for number in range(SINGLE_APPENDS):
        with Session(engine) as session, session.begin():
            append_event(
                session,
                kind="PaymentSeen",
                subject=f"writer:{writer}",
                actor=f"node-{writer}",
                payload={"writer": writer, "number": number},
            )
        if number % (SINGLE_APPENDS // BATCHES) == 0:
            drafts = [
                EventDraft(
                    "StopCompleted",
                    f"writer:{writer}",
                    f"node-{writer}",
                    {"writer": writer, "batch": number, "item": item},
                )
                for item in range(BATCH_SIZE)
            ]
            with Session(engine) as session, session.begin():
                append_events(session, drafts)


def test_concurrent_writers_keep_one_chain_and_lose_no_event(
    database_url: str,
) -> None:
    engines = [create_db_engine(database_url) for _ in range(WRITERS)]
    upgrade_database(engines[0])
    start = threading.Barrier(WRITERS)
    failures: list[BaseException] = []

    def run(writer: int) -> None:
        try:
            write_concurrently(engines[writer], writer, start)
        except BaseException as exc:  # reported to the test below
            failures.append(exc)

    threads = [threading.Thread(target=run, args=(n,)) for n in range(WRITERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert failures == []
    per_writer = SINGLE_APPENDS + BATCHES * BATCH_SIZE
    assert verify(engines[0])[0] == WRITERS * per_writer
    with Session(engines[0]) as session:
        payloads = session.scalars(
            select(JournalEvent.payload).order_by(JournalEvent.seq)
        ).all()
    numbers: dict[int, list[int]] = defaultdict(list)
    for payload in map(json.loads, payloads):
        if "number" in payload:
            numbers[payload["writer"]].append(payload["number"])
    assert numbers == {n: list(range(SINGLE_APPENDS)) for n in range(WRITERS)}
    for engine in engines:
        engine.dispose()


def test_two_first_writers_on_an_empty_journal_both_succeed(
    database_url: str,
) -> None:
    first, second = (create_db_engine(database_url) for _ in range(2))
    upgrade_database(first)
    failures: list[BaseException] = []

    def append_second() -> None:
        try:
            with Session(second) as session, session.begin():
                append_event(session, kind="Second", subject="s:2", actor="b")
        except BaseException as exc:  # reported to the test below
            failures.append(exc)

    with Session(first) as session, session.begin():
        append_event(session, kind="First", subject="s:1", actor="a")
        waiting = threading.Thread(target=append_second)
        waiting.start()
        # Give the second writer time to find no head row and queue behind
        # the first one's uncommitted insert of it.
        waiting.join(timeout=1.0)
    waiting.join()

    assert failures == []
    assert verify(first)[0] == 2
    first.dispose()
    second.dispose()
