"""Restoring a database of a million orders from the write-once store.

Run from the repository root::

    .venv/bin/python benchmarks/restore_bench.py [--orders 1000000] [--after 10000]

Builds a SQLite database (WAL, in a temporary folder) holding ``--orders``
parcels between a few thousand parties, each order with its
``ParcelOrdered`` event on the journal, inserted in bulk rather than
through the services (generation is not what is measured). Then, on a
local backup folder: takes a snapshot, places ``--after`` more orders the
same way, ships the whole journal in segments of 10,000, and times
``restore_database`` into a new file (target: under 10 s for a million
orders), beside its parts timed alone: the segment chain's verification,
SQLite's online backup API and ``quick_check`` on the same file.
"""

from __future__ import annotations

import argparse
import sqlite3
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import Engine, insert, text, update

from controlroom.backup.restore import restore_database
from controlroom.backup.shipper import Shipper
from controlroom.backup.snapshots import take_snapshot
from controlroom.backup.stores import LocalStore
from controlroom.backup.verify import verify_store
from controlroom.db import create_db_engine
from controlroom.journal import GENESIS_HASH, EventDraft, JournalEvent, JournalHead
from controlroom.journal.chain import seal_events
from controlroom.orders.models import Parcel, Party
from controlroom.schema import upgrade_database

START = datetime(2026, 12, 4, 6, 0, tzinfo=UTC)
CHUNK = 50_000
PARTIES = 2_000
EVENTS = JournalEvent.metadata.tables["journal_events"]
HEAD = JournalHead.metadata.tables["journal_head"]
PARCELS = Parcel.metadata.tables["parcels"]
PARTY_ROWS = Party.metadata.tables["parties"]


def timed(label: str, work: Callable[[], object]) -> float:
    began = time.perf_counter()
    work()
    seconds = time.perf_counter() - began
    print(f"  {label}: {seconds:.2f} s", flush=True)
    return seconds


def add_parties(engine: Engine) -> None:
    rows = [
        {
            "id": n,
            "kind": "customer",
            "name": f"Customer {n}",
            "phone": f"+47 400 {n:05d}",
            "street": f"Storgata {n}",
            "postcode": "0155",
            "city": "Oslo",
            "lat": 59.91,
            "lon": 10.75,
            "customer_kind": "new",
            "created_at": START,
        }
        for n in range(1, PARTIES + 1)
    ]
    with engine.begin() as connection:
        connection.execute(insert(PARTY_ROWS), rows)


def order(n: int) -> tuple[dict[str, Any], EventDraft]:
    """Parcel ``n``'s row and its ``ParcelOrdered`` event, as place_order writes."""
    at = START + timedelta(seconds=n // 20)
    pickup = (at, at + timedelta(hours=2))
    delivery = (at + timedelta(hours=2), at + timedelta(hours=6))
    row = {
        "id": n,
        "code": f"BENCH-{n:09d}",
        "idempotency_key": f"bench-order-{n:09d}",
        "status": "ordered",
        "channel": "web_shop",
        "sender_id": 1 + n % PARTIES,
        "recipient_id": 1 + (n * 7) % PARTIES,
        "load": 1 + n % 3,
        "service_minutes": 5,
        "pickup_from": pickup[0],
        "pickup_until": pickup[1],
        "deliver_from": delivery[0],
        "deliver_until": delivery[1],
        "ordered_at": at,
        "price_sat": 25_000 + n % 1000,
    }
    draft = EventDraft(
        kind="ParcelOrdered",
        subject=f"parcel:{n}",
        actor="webshop",
        occurred_at=at,
        payload={
            "code": row["code"],
            "channel": "web_shop",
            "sender": row["sender_id"],
            "recipient": row["recipient_id"],
            "load": row["load"],
            "pickup_window": list(pickup),
            "delivery_window": list(delivery),
            "price_sat": row["price_sat"],
            "idempotency_key": row["idempotency_key"],
        },
    )
    return row, draft


def add_orders(engine: Engine, first: int, count: int) -> None:
    """Insert parcels ``first``.. and their events in bulk, moving the head."""
    with engine.begin() as connection:
        head = connection.execute(text("SELECT seq, hash FROM journal_head")).first()
        after = (head.seq, head.hash) if head else (0, GENESIS_HASH)
        for chunk in range(first, first + count, CHUNK):
            size = min(CHUNK, first + count - chunk)
            made = [order(n) for n in range(chunk, chunk + size)]
            connection.execute(insert(PARCELS), [row for row, _ in made])
            events = seal_events(
                [draft for _, draft in made], after=after, recorded_at=START
            )
            connection.execute(insert(EVENTS), events)
            after = (events[-1]["seq"], events[-1]["hash"])
        if head is None:
            connection.execute(
                insert(HEAD), {"id": 1, "seq": after[0], "hash": after[1]}
            )
        else:
            connection.execute(update(HEAD).values(seq=after[0], hash=after[1]))


def sqlite_copy(source: Path, target: Path) -> None:
    live, copy = sqlite3.connect(source), sqlite3.connect(target)
    live.backup(copy)
    live.close()
    copy.close()


def quick_check(path: Path) -> None:
    connection = sqlite3.connect(path)
    result = connection.execute("PRAGMA quick_check").fetchone()[0]
    connection.close()
    assert result == "ok", result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=1_000_000)
    parser.add_argument("--after", type=int, default=10_000)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as folder:
        base = Path(folder)
        db_file = base / "controlroom.sqlite3"
        engine = create_db_engine(f"sqlite:///{db_file}")
        upgrade_database(engine)
        print(f"Generating {args.orders:,} orders…", flush=True)
        timed("generate and bulk-insert", lambda: add_parties(engine))
        timed("orders", lambda: add_orders(engine, 1, args.orders))
        store = LocalStore(base / "backup", retention_days=30)
        snap = timed(
            "snapshot (backup API, integrity_check, store)",
            lambda: take_snapshot(engine, store, created_at=datetime.now(UTC)),
        )
        add_orders(engine, args.orders + 1, args.after)
        shipper = Shipper(engine, store, segments_per_round=10**6)
        timed("ship the journal", shipper.ship_once)
        engine.dispose()
        size_mb = db_file.stat().st_size / 1e6

        print("Measuring…", flush=True)
        verify = timed("verify segments", lambda: verify_store(store, snapshots=False))
        copy = base / "copy.sqlite3"
        backup = timed("sqlite backup API", lambda: sqlite_copy(db_file, copy))
        check = timed("quick_check", lambda: quick_check(copy))
        target = base / "restored" / "controlroom.sqlite3"
        began = time.perf_counter()
        report = restore_database(store, f"sqlite:///{target}")
        restore = time.perf_counter() - began
        print(f"  restore: {restore:.2f} s", flush=True)

    parcels = next(c for c in report.counts if c.table == "parcels")
    assert parcels.found == args.orders + args.after, parcels
    assert report.replay.parcels == args.after
    assert report.head_restored == report.head_shipped
    print()
    print(f"| what ({args.orders:,} orders + {args.after:,} after the snapshot, "
          f"{size_mb:,.0f} MB database) | seconds |")  # fmt: skip
    print("|---|---:|")
    print(f"| snapshot: backup API, integrity_check, checksum, store | {snap:.2f} |")
    replayed = f"replay {report.appended:,} events"
    print(f"| **restore**: verify, pick snapshot, copy, {replayed}, check, "
          f"count | **{restore:.2f}** |")  # fmt: skip
    print(f"| of which alone: verify the segment chain | {verify:.2f} |")
    print(f"| for comparison: SQLite backup API, whole file | {backup:.2f} |")
    print(f"| for comparison: SQLite quick_check | {check:.2f} |")
    print(f"\nrestored {parcels.found:,} parcels, head {report.head_restored[0]:,}")


if __name__ == "__main__":
    main()
