"""Shipping and verifying the journal backup, beside SQLite's own backup API.

Run from the repository root::

    .venv/bin/python benchmarks/backup_bench.py [--events 1000000] [--acks 300]

Builds a SQLite database (WAL, in a temporary folder) whose journal holds
``--events`` events shaped like the day's traffic, sealed and bulk-inserted
rather than appended through the services (generation is not what is
measured). Then times, on a local backup folder:

* ``ship``: the shipper's first round, every event sealed into segments of
  10,000 and written with its manifest (as after a long outage);
* ``verify``: ``verify_store`` re-reading every segment and manifest,
  checking checksums, links and every event's hash (target: under 5 s for
  one million events);
* SQLite's online backup API (``sqlite3.Connection.backup``) copying the
  same database file, and ``PRAGMA quick_check`` on the copy: what SQLite
  offers instead of a verifiable, append-only stream;
* ship-before-acknowledge: ``--acks`` single-event transactions, each
  followed by ``Shipper.ship_through``, beside the same commits alone.
"""

from __future__ import annotations

import argparse
import sqlite3
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import Engine, insert
from sqlalchemy.orm import Session

from controlroom.backup.shipper import Shipper
from controlroom.backup.stores import LocalStore
from controlroom.backup.verify import verify_store
from controlroom.db import create_db_engine
from controlroom.journal import (
    GENESIS_HASH,
    EventDraft,
    JournalEvent,
    JournalHead,
    append_event,
)
from controlroom.journal.chain import seal_events
from controlroom.schema import upgrade_database

START = datetime(2026, 12, 4, 6, 0, tzinfo=UTC)
CHUNK = 50_000


def drafts(first: int, count: int) -> Iterator[EventDraft]:
    """Events shaped like the day's traffic: a parcel, a stop, a payment."""
    for n in range(first, first + count):
        yield EventDraft(
            kind="ParcelPickedUp",
            subject=f"parcel:{n}",
            actor="driver:D07",
            payload={"code": "7KQ2-9XWM-4TC8", "via": "app", "stop": n},
            occurred_at=START + timedelta(seconds=n),
        )


def fill_journal(engine: Engine, count: int) -> None:
    """Seal ``count`` events and insert them in bulk, head row included."""
    after = (0, GENESIS_HASH)
    with engine.begin() as connection:
        for first in range(1, count + 1, CHUNK):
            size = min(CHUNK, count - first + 1)
            rows = seal_events(
                list(drafts(first, size)), after=after, recorded_at=START
            )
            connection.execute(insert(JournalEvent), rows)
            after = (rows[-1]["seq"], rows[-1]["hash"])
        connection.execute(
            insert(JournalHead), {"id": 1, "seq": after[0], "hash": after[1]}
        )


def timed(label: str, work: Callable[[], object]) -> float:
    began = time.perf_counter()
    work()
    seconds = time.perf_counter() - began
    print(f"  {label}: {seconds:.2f} s", flush=True)
    return seconds


def sqlite_backup(source: Path, target: Path) -> None:
    with sqlite3.connect(source) as src, sqlite3.connect(target) as dst:
        src.backup(dst)
    dst.close()
    src.close()


def quick_check(path: Path) -> None:
    with sqlite3.connect(path) as connection:
        result = connection.execute("PRAGMA quick_check").fetchone()[0]
    connection.close()
    assert result == "ok", result


def acks(engine: Engine, count: int, first: int, shipper: Shipper | None) -> None:
    for n in range(first, first + count):
        with Session(engine) as session, session.begin():
            seq = append_event(
                session,
                kind="ParcelOrdered",
                subject=f"parcel:{n}",
                actor="shop",
                payload={"n": n},
            )
        if shipper is not None:
            shipper.ship_through(seq)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--acks", type=int, default=300)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as folder:
        base = Path(folder)
        db_file = base / "controlroom.sqlite3"
        engine = create_db_engine(f"sqlite:///{db_file}")
        upgrade_database(engine)
        print(f"Generating {args.events:,} journal events…", flush=True)
        timed("generate and bulk-insert", lambda: fill_journal(engine, args.events))
        size_mb = db_file.stat().st_size / 1e6

        store = LocalStore(base / "backup", retention_days=30)
        shipper = Shipper(engine, store, segments_per_round=10**6)
        print("Measuring…", flush=True)
        ship = timed("ship", shipper.ship_once)
        report = verify_store(store)
        assert report.ok and report.events >= args.events, report.problem
        verify = timed("verify", lambda: verify_store(store))
        segment_mb = sum(p.stat().st_size for p in (base / "backup").rglob("*.seg"))
        copy = base / "copy.sqlite3"
        engine.dispose()
        backup = timed("sqlite backup API", lambda: sqlite_backup(db_file, copy))
        check = timed("quick_check of the copy", lambda: quick_check(copy))

        plain = timed(f"{args.acks} commits", lambda: acks(engine, args.acks, 1, None))
        acked_store = LocalStore(base / "acked", retention_days=30)
        acked = Shipper(engine, acked_store, segments_per_round=10**6)
        acked.ship_once()  # catch up first: measure the per-order cost only
        shipped = timed(
            f"{args.acks} commits, each shipped before its ack",
            lambda: acks(engine, args.acks, args.acks + 1, acked),
        )

    events = args.events
    print()
    print(f"| what ({events:,} events, {size_mb:,.0f} MB database) | seconds | rate |")
    print("|---|---:|---:|")
    print(f"| ship: seal and write every segment | {ship:.2f} | "
          f"{events / ship:,.0f} ev/s |")  # fmt: skip
    print(f"| verify: checksums, manifest chain, every event hash | {verify:.2f} | "
          f"{events / verify:,.0f} ev/s |")  # fmt: skip
    print(f"| SQLite backup API, whole file | {backup:.2f} | "
          f"{size_mb / backup:,.0f} MB/s |")  # fmt: skip
    print(f"| SQLite quick_check of the copy | {check:.2f} | |")
    print(f"| {args.acks} order commits | {plain:.2f} | "
          f"{args.acks / plain:,.0f} /s |")  # fmt: skip
    print(f"| {args.acks} order commits, shipped before ack | {shipped:.2f} | "
          f"{args.acks / shipped:,.0f} /s |")  # fmt: skip
    print(f"\nsegments on disk: {segment_mb / 1e6:,.0f} MB")


if __name__ == "__main__":
    main()
