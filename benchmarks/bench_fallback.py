"""How fast the fallback spool accepts, verifies and merges back orders.

Run from the repository root::

    .venv/bin/python benchmarks/bench_fallback.py [--orders 10000] [--merge 2000]

On a temporary folder and a SQLite primary in it:

* ``accept, one fsync each``: orders accepted one by one, as SMS texts
  arrive, each written and ``fsync``'d (and the head file replaced) before
  it returns;
* ``accept, one fsync per batch``: the same orders in one ``accept_many``;
* ``verify``: ``read_spool`` re-hashing every record and checking the chain;
* ``merge back``: ``merge_spool`` into a migrated SQLite primary, two
  parties, a parcel and an invoice per order, all journalled.

Each figure is one run; the spool and database are new for each.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from controlroom.db import create_db_engine
from controlroom.demo.datafiles import load_watch_only_account
from controlroom.fallback_orders.merge import merge_spool
from controlroom.fallback_orders.spool import Spool, read_spool
from controlroom.fallback_orders.spool_wallet import spool_wallet
from controlroom.payments.addresses import Network
from controlroom.schema import upgrade_database
from tests.fallback_orders.world import primary_with_depot, spooled_order


def timed(label: str, count: int, work: object) -> tuple[str, int, float]:
    """Run ``work`` once; return its label, count and seconds."""
    assert callable(work)
    start = time.perf_counter()
    work()
    return label, count, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=10_000)
    parser.add_argument("--single", type=int, default=1_000)
    parser.add_argument("--merge", type=int, default=2_000)
    args = parser.parse_args()
    wallet = spool_wallet(
        load_watch_only_account().fallback_vpub, network=Network.REGTEST
    )
    rows: list[tuple[str, int, float]] = []

    with tempfile.TemporaryDirectory() as folder:
        base = Path(folder)
        single = Spool(base / "single")
        entries = [spooled_order(n, wallet=wallet) for n in range(args.single)]
        rows.append(
            timed(
                "accept, one fsync each",
                args.single,
                lambda: [single.accept(**vars(entry)) for entry in entries],
            )
        )

        batch = Spool(base / "batch")
        many = [spooled_order(n) for n in range(args.orders)]
        rows.append(
            timed(
                "accept, one fsync per batch",
                args.orders,
                lambda: batch.accept_many(many),
            )
        )
        rows.append(timed("verify", args.orders, lambda: read_spool(base / "batch")))

        merging = Spool(base / "merge")
        merging.accept_many(
            [spooled_order(n, wallet=wallet) for n in range(args.merge)]
        )
        engine = create_db_engine(f"sqlite:///{base / 'primary.sqlite3'}")
        upgrade_database(engine)
        primary_with_depot(engine)
        rows.append(
            timed(
                "merge back (SQLite)",
                args.merge,
                lambda: merge_spool(engine, base / "merge", actor="bench"),
            )
        )
        engine.dispose()

    print(f"{'step':<30} {'orders':>8} {'seconds':>9} {'orders/s':>10}")
    for label, count, seconds in rows:
        print(f"{label:<30} {count:>8} {seconds:>9.3f} {count / seconds:>10.0f}")


if __name__ == "__main__":
    main()
