"""How fast the journal appends, beside a plain insert of the same rows.

Run from the repository root::

    .venv/bin/python benchmarks/bench_journal.py [--events 20000] [--runs 5]

Three ways of writing, on SQLite (a WAL file in a temporary folder) and on
PostgreSQL (a throw-away cluster on 127.0.0.1, started as in the test suite;
skipped with a note when PostgreSQL is not installed):

* ``batch``: all events in one transaction, ``append_events`` against one
  ``executemany`` of the same rows with their hashes computed beforehand;
* ``loop``: all events in one transaction, one ``append_event`` per event (as
  services call it) against one ``INSERT`` per row;
* ``single``: one event per transaction, each committed, against one
  ``INSERT`` and commit per row.

Each figure is the median of ``--runs`` runs; the tables are emptied between
runs. The raw insert writes the journal table only, so the ratio shows what
the chain (head row lock and update, hashing, the ORM session) costs.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import Engine, delete, insert
from sqlalchemy.orm import Session

from controlroom.db import create_db_engine
from controlroom.journal import (
    GENESIS_HASH,
    EventDraft,
    JournalEvent,
    JournalHead,
    append_event,
    append_events,
    verify_journal,
)
from controlroom.journal.chain import seal_events
from controlroom.schema import upgrade_database
from tests.postgres_cluster import find_pg_bin, new_database, postgres_cluster

START = datetime(2026, 12, 4, 6, 0, tzinfo=UTC)


def drafts(count: int) -> list[EventDraft]:
    """Events shaped like the day's traffic: a parcel, a stop, a payment."""
    return [
        EventDraft(
            kind="ParcelPickedUp",
            subject=f"parcel:{n}",
            actor="driver:D07",
            payload={"code": "7KQ2-9XWM-4TC8", "via": "app", "stop": n},
            occurred_at=START + timedelta(seconds=n),
        )
        for n in range(count)
    ]


def sealed_rows(events: list[EventDraft]) -> list[dict[str, Any]]:
    """The same events as finished rows, hashes computed ahead of time."""
    return seal_events(events, after=(0, GENESIS_HASH), recorded_at=START)


def empty_journal(engine: Engine) -> None:
    """Remove every event and the head row, so each run starts from genesis."""
    with engine.begin() as connection:
        connection.execute(delete(JournalEvent))
        connection.execute(delete(JournalHead))


def ours_batch(engine: Engine, events: list[EventDraft]) -> None:
    with Session(engine) as session, session.begin():
        append_events(session, events)


def ours_loop(engine: Engine, events: list[EventDraft]) -> None:
    with Session(engine) as session, session.begin():
        for draft in events:
            append_event(
                session,
                kind=draft.kind,
                subject=draft.subject,
                actor=draft.actor,
                payload=draft.payload,
                occurred_at=draft.occurred_at,
            )


def ours_single(engine: Engine, events: list[EventDraft]) -> None:
    for draft in events:
        with Session(engine) as session, session.begin():
            append_event(
                session,
                kind=draft.kind,
                subject=draft.subject,
                actor=draft.actor,
                payload=draft.payload,
                occurred_at=draft.occurred_at,
            )


def raw_batch(engine: Engine, rows: list[dict[str, Any]]) -> None:
    with engine.begin() as connection:
        connection.execute(insert(JournalEvent.__table__), rows)


def raw_loop(engine: Engine, rows: list[dict[str, Any]]) -> None:
    statement = insert(JournalEvent.__table__)
    with engine.begin() as connection:
        for row in rows:
            connection.execute(statement, row)


def raw_single(engine: Engine, rows: list[dict[str, Any]]) -> None:
    statement = insert(JournalEvent.__table__)
    for row in rows:
        with engine.begin() as connection:
            connection.execute(statement, row)


def median_rate(
    engine: Engine, write: Callable[[], None], count: int, runs: int
) -> float:
    """Events per second, the median of ``runs`` timed writes from empty."""
    rates = []
    for _ in range(runs):
        empty_journal(engine)
        started = time.perf_counter()
        write()
        rates.append(count / (time.perf_counter() - started))
    return statistics.median(rates)


def check_chain(engine: Engine, count: int) -> None:
    """Make sure what was timed is a whole, valid chain."""
    with Session(engine) as session, session.begin():
        head_seq, _ = verify_journal(session)
    if head_seq != count:
        raise SystemExit(f"expected {count} events on the chain, found {head_seq}")


def bench_backend(
    name: str, engine: Engine, events: int, singles: int, runs: int
) -> list[tuple[str, str, float, float]]:
    """Time every mode on one database; return table rows."""
    upgrade_database(engine)
    many = drafts(events)
    few = many[:singles]
    many_rows, few_rows = sealed_rows(many), sealed_rows(few)
    modes = [
        ("batch", events, ours_batch, raw_batch, many, many_rows),
        ("loop", events, ours_loop, raw_loop, many, many_rows),
        ("single", singles, ours_single, raw_single, few, few_rows),
    ]
    table = []
    for mode, count, ours, raw, mode_events, mode_rows in modes:
        ours_rate = median_rate(
            engine, lambda o=ours, e=mode_events: o(engine, e), count, runs
        )
        check_chain(engine, count)
        raw_rate = median_rate(
            engine, lambda r=raw, w=mode_rows: r(engine, w), count, runs
        )
        table.append((name, f"{mode} ({count:,})", ours_rate, raw_rate))
        print(f"  {name} {mode}: {ours_rate:,.0f} vs {raw_rate:,.0f} ev/s", flush=True)
    empty_journal(engine)
    return table


@contextmanager
def sqlite_engine() -> Iterator[Engine]:
    with tempfile.TemporaryDirectory(prefix="bench-journal-") as folder:
        engine = create_db_engine(f"sqlite:///{folder}/journal.sqlite3")
        try:
            yield engine
        finally:
            engine.dispose()


@contextmanager
def postgres_engine(pg_bin: Path) -> Iterator[Engine]:
    with postgres_cluster(pg_bin) as server_url:
        engine = create_db_engine(new_database(server_url, prefix="bench"))
        try:
            yield engine
        finally:
            engine.dispose()


def print_table(rows: list[tuple[str, str, float, float]]) -> None:
    header = f"{'backend':<11}{'mode':<18}{'ours ev/s':>12}{'raw ev/s':>12}"
    print()
    print(header + f"{'ratio':>8}")
    print("-" * (len(header) + 8))
    for backend, mode, ours, raw in rows:
        print(f"{backend:<11}{mode:<18}{ours:>12,.0f}{raw:>12,.0f}{ours / raw:>8.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--singles", type=int, default=2_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    singles = min(args.singles, args.events)

    print(
        f"journal appends: {args.events:,} events per batch, "
        f"{singles:,} single-event transactions, median of {args.runs} runs"
    )
    rows = []
    with sqlite_engine() as engine:
        rows += bench_backend("sqlite", engine, args.events, singles, args.runs)

    pg_bin = find_pg_bin()
    if pg_bin is None:
        print("postgresql: skipped, PostgreSQL is not installed (no initdb found)")
    else:
        with postgres_engine(pg_bin) as engine:
            rows += bench_backend("postgresql", engine, args.events, singles, args.runs)
    print_table(rows)


if __name__ == "__main__":
    main()
