"""PostgreSQL base backup and restore of a million orders, beside the tools alone.

Run from the repository root, as root or as a user who may run PostgreSQL::

    .venv/bin/python benchmarks/pg_backup_bench.py [--orders 1000000] [--after 10000]

The data are those of ``benchmarks/restore_bench.py``: ``--orders`` parcels
between 2,000 parties, each with its ``ParcelOrdered`` event sealed onto the
journal. On PostgreSQL they are loaded with COPY (an executemany of a
million rows takes minutes; loading is not what is measured). The server
is a throw-away PostgreSQL 15 cluster on 127.0.0.1 with ``archive_mode``
on and ``archive_command`` = ``controlroom backup wal-push`` into a local
store, as in ``tests/backup/test_pg_archive.py``.

Timed: our base backup (``take_base_backup``: pg_basebackup, pg_verifybackup,
tar and gzip, SHA-256, stored write-once with its manifest); then, after
``--after`` more orders, the journal shipped and the WAL switched and
archived, our restore (``restore_pgdata``: verify the journal chain, check
the base backup's SHA-256, fetch and check the WAL, unpack, pg_verifybackup,
start, recover to the end, promote, compare the journal head with the
shipped journal). Beside them: plain ``pg_basebackup`` and
``pg_verifybackup`` on the same server, and SQLite's online backup API on
the same orders in a SQLite file.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from restore_bench import CHUNK, add_orders, add_parties, order, sqlite_copy
from sqlalchemy import Engine

from controlroom.backup.pg_base import take_base_backup
from controlroom.backup.pg_restore import restore_pgdata
from controlroom.backup.pg_tools import libpq_connection, run_tool
from controlroom.backup.shipper import Shipper
from controlroom.config import Settings
from controlroom.db import create_db_engine
from controlroom.journal import GENESIS_HASH
from controlroom.journal.chain import seal_events
from controlroom.schema import upgrade_database
from tests.backup.pg_world import archiving_cluster
from tests.postgres_cluster import find_pg_bin

T = TypeVar("T")


def timed(label: str, work: Callable[[], T]) -> tuple[float, T]:
    began = time.perf_counter()
    result = work()
    seconds = time.perf_counter() - began
    print(f"  {label}: {seconds:.2f} s", flush=True)
    return seconds, result


def copy_orders(engine: Engine, first: int, count: int) -> None:
    """COPY parcels ``first``.. and their sealed events in, moving the head."""
    start = datetime(2026, 12, 4, 6, 0, tzinfo=UTC)
    pooled = engine.raw_connection()
    try:
        connection: Any = pooled.driver_connection
        with connection.cursor() as cursor:
            cursor.execute("SELECT seq, hash FROM journal_head WHERE id = 1")
            head = cursor.fetchone()
            after = (head[0], head[1]) if head else (0, GENESIS_HASH)
            for chunk in range(first, first + count, CHUNK):
                size = min(CHUNK, first + count - chunk)
                made = [order(n) for n in range(chunk, chunk + size)]
                parcels = [row for row, _ in made]
                events = seal_events(
                    [draft for _, draft in made], after=after, recorded_at=start
                )
                _copy(cursor, "parcels", parcels)
                _copy(cursor, "journal_events", events)
                after = (events[-1]["seq"], events[-1]["hash"])
            if head is None:
                cursor.execute(
                    "INSERT INTO journal_head (id, seq, hash) VALUES (1, %s, %s)", after
                )
            else:
                cursor.execute(
                    "UPDATE journal_head SET seq = %s, hash = %s WHERE id = 1", after
                )
        connection.commit()
    finally:
        pooled.close()


def _copy(cursor: Any, table: str, rows: list[dict[str, Any]]) -> None:
    columns = list(rows[0])
    statement = f"COPY {table} ({', '.join(columns)}) FROM STDIN"
    with cursor.copy(statement) as copy:
        for row in rows:
            copy.write_row([row[column] for column in columns])


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--orders", type=int, default=1_000_000)
    parser.add_argument("--after", type=int, default=10_000)
    args = parser.parse_args()
    pg_bin = find_pg_bin()
    if pg_bin is None:
        sys.exit("PostgreSQL is not installed (no initdb found).")

    with archiving_cluster(pg_bin) as cluster:
        if cluster is None:
            sys.exit("The postgres user can run no Python with our packages.")
        settings = Settings(data_dir=cluster.folder)
        store = cluster.new_store("store")
        cluster.archive_to(store.location)
        cluster.sql('CREATE DATABASE "orders"')
        engine = create_db_engine(cluster.url("orders"))
        upgrade_database(engine)

        print(f"Loading {args.orders:,} orders with COPY…", flush=True)
        timed("parties", lambda: add_parties(engine))
        timed("orders (COPY)", lambda: copy_orders(engine, 1, args.orders))
        shipper = Shipper(engine, store, segments_per_round=10**6)
        timed("ship the journal", shipper.ship_once)
        size_mb = int(str(cluster.sql("SELECT pg_database_size('orders')"))) / 1e6

        print("Measuring…", flush=True)
        ours, base = timed(
            "our base backup",
            lambda: take_base_backup(
                engine, store, settings=settings, created_at=datetime.now(UTC)
            ),
        )
        copy_orders(engine, args.orders + 1, args.after)
        shipper.ship_once()
        timed("switch and archive the WAL", cluster.switch_wal)

        plain = cluster.folder / "plain-base"
        conninfo, _ = libpq_connection(cluster.url("orders"))
        basebackup, _ = timed(
            "pg_basebackup",
            lambda: run_tool(
                [
                    *(str(pg_bin / "pg_basebackup"), "-d", conninfo, "-D", str(plain)),
                    *("-F", "p", "-X", "stream", "-c", "fast", "--no-sync"),
                ],
                what="take a plain base backup",
            ),
        )
        verifybackup, _ = timed(
            "pg_verifybackup",
            lambda: run_tool(
                [str(pg_bin / "pg_verifybackup"), "--quiet", str(plain)],
                what="check it",
            ),
        )
        restore, report = timed(
            "our restore, to the end of recovery",
            lambda: restore_pgdata(
                store,
                cluster.folder / "restored",
                settings=settings,
                start_port=cluster.free_port(),
            ),
        )
        engine.dispose()

    with tempfile.TemporaryDirectory() as folder:
        db_file = Path(folder) / "controlroom.sqlite3"
        lite = create_db_engine(f"sqlite:///{db_file}")
        upgrade_database(lite)
        print(f"The same {args.orders:,} orders in SQLite…", flush=True)
        add_parties(lite)
        add_orders(lite, 1, args.orders)
        lite.dispose()
        sqlite_mb = db_file.stat().st_size / 1e6
        backup_api, _ = timed(
            "SQLite backup API",
            lambda: sqlite_copy(db_file, Path(folder) / "copy.sqlite3"),
        )

    assert report.head_restored == report.head_shipped, report
    assert report.parcels == args.orders + args.after, report.parcels
    print()
    print(f"| what ({args.orders:,} orders; PostgreSQL database {size_mb:,.0f} MB, "
          f"SQLite file {sqlite_mb:,.0f} MB) | seconds |")  # fmt: skip
    print("|---|---:|")
    packed = f"{base.size / 1e6:,.0f} MB"
    print(f"| **our base backup**: pg_basebackup, pg_verifybackup, tar+gzip "
          f"({packed}), SHA-256, store | **{ours:.2f}** |")  # fmt: skip
    print(
        f"| **our restore**: verify, check, stage {report.wal_files} WAL "
        "file(s), unpack, pg_verifybackup, start, recover "
        f"{args.after:,} orders, promote, compare heads | **{restore:.2f}** |"
    )
    print(f"| for comparison: plain pg_basebackup (-X stream) | {basebackup:.2f} |")
    print(f"| for comparison: plain pg_verifybackup | {verifybackup:.2f} |")
    print(f"| for comparison: SQLite backup API, same orders | {backup_api:.2f} |")
    print()
    print("| our restore, step by step | seconds |")
    print("|---|---:|")
    for step, seconds in report.steps:
        print(f"| {step} | {seconds:.2f} |")
    print(f"\nrestored {report.parcels:,} parcels, head {report.head_restored}")


if __name__ == "__main__":
    main()
