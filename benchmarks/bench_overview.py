"""Time the overview's read model beside the raw SQL it issues.

Bulk-loads a fresh database with parcels spread over several days, their
senders and recipients, one invoice each, the components with a day of
probes, and a published plan with open stops; then times every overview query
(median of several runs) against replaying the exact statements it sent
through the bare DB-API cursor::

    .venv/bin/python benchmarks/bench_overview.py [--parcels 100000]
        [--days 14] [--database-url postgresql+psycopg://...]

The load goes straight into the tables, past the services, so it writes no
journal: the overview does not read the journal.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from rich.console import Console
from rich.progress import Progress
from rich.table import Table
from sqlalchemy import Engine, event, insert, text
from sqlalchemy.orm import Session

import controlroom.models as m
from controlroom.clock import set_simulated_time
from controlroom.db import create_db_engine, describe_url
from controlroom.orders.codes import format_code
from controlroom.overview.city_map import map_points
from controlroom.overview.queries import (
    ParcelFilter,
    day_kpis,
    operating_day,
    parcel_flow,
    parcel_rows,
)
from controlroom.overview.snapshot import overview_snapshot
from controlroom.overview.systems import component_rows
from controlroom.schema import upgrade_database
from controlroom.session_frame import local_time
from tests.postgres_cluster import find_pg_bin, new_database, postgres_cluster

ZONE = "Europe/Oslo"
CHUNK = 5_000
console = Console()


def _now() -> datetime:
    """Today at 14:00 in Oslo: the operating clock of the benchmark."""
    local = datetime.now(ZoneInfo(ZONE)).replace(
        hour=14, minute=0, second=0, microsecond=0
    )
    return local.astimezone(UTC)


def _chunks(rows: list[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    for start in range(0, len(rows), CHUNK):
        yield rows[start : start + CHUNK]


def _parcel(
    i: int, ordered: datetime, now: datetime, rng: random.Random
) -> dict[str, Any]:
    due = ordered + timedelta(hours=4)
    age = (now - ordered).total_seconds() / 3600
    picked = ordered + timedelta(hours=rng.uniform(0.5, 2))
    delivered = picked + timedelta(hours=rng.uniform(0.5, 2.6))
    status = m.ParcelStatus.ORDERED
    if rng.random() < 0.01:
        status = m.ParcelStatus.CANCELLED
    elif delivered < now:
        status = m.ParcelStatus.DELIVERED
    elif picked < now:
        status = m.ParcelStatus.PICKED_UP
    return {
        "id": i,
        "code": format_code(f"B{i:010d}X"),
        "status": status,
        "channel": m.OrderChannel.WEB_SHOP if i % 20 else m.OrderChannel.SMS,
        "sender_id": 1 + (i * 7) % 5_000,
        "recipient_id": 1 + (i * 13 + 1) % 5_000,
        "load": 1 + i % 3,
        "service_minutes": 5,
        "pickup_from": ordered,
        "pickup_until": ordered + timedelta(hours=2),
        "deliver_from": ordered,
        "deliver_until": due,
        "ordered_at": ordered,
        "picked_up_at": picked if status.value in ("picked_up", "delivered") else None,
        "delivered_at": delivered if status is m.ParcelStatus.DELIVERED else None,
        "price_sat": 20_000 + i % 9_000,
        "_age": age,
    }


def _invoice(parcel: dict[str, Any], rng: random.Random) -> dict[str, Any]:
    i = parcel["id"]
    lightning = i % 5 == 0
    created = parcel["ordered_at"]
    settled = created + timedelta(minutes=rng.uniform(1, 40))
    roll = rng.random()
    if parcel["_age"] < 0.7 and roll < 0.5:
        status, settled_at, paid = m.InvoiceStatus.NEW, None, 0
    elif roll < 0.02:
        status, settled_at, paid = m.InvoiceStatus.EXPIRED, None, 0
    elif roll < 0.05:
        status, settled_at, paid = m.InvoiceStatus.PROCESSING, None, parcel["price_sat"]
    else:
        status, settled_at, paid = m.InvoiceStatus.SETTLED, settled, parcel["price_sat"]
    return {
        "id": i,
        "parcel_id": i,
        "method": m.PaymentMethod.LIGHTNING if lightning else m.PaymentMethod.ONCHAIN,
        "status": status,
        "exception": None,
        "amount_sat": parcel["price_sat"],
        "paid_sat": paid,
        "required_confirmations": 0 if lightning else 1,
        "address": None if lightning else f"bc1qbench{i:09d}",
        "bolt11": None,
        "payment_hash": f"{i:064x}" if lightning else None,
        "created_at": created,
        "expires_at": created + timedelta(hours=1),
        "settled_at": settled_at,
    }


def load_world(engine: Engine, *, parcels: int, days: int, seed: int) -> datetime:
    """Fill a migrated database with the benchmark's world; return its 'now'."""
    rng = random.Random(seed)
    now = _now()
    first_day = now - timedelta(days=days - 1)
    day_start = now.replace(hour=5)

    parties = [
        {
            "id": n,
            "kind": m.PartyKind.CUSTOMER,
            "name": f"Customer {n:05d}",
            "phone": f"+47{90000000 + n}",
            "street": f"Benchgata {n}",
            "postcode": "0150",
            "city": "Oslo",
            "lat": 59.86 + rng.random() * 0.12,
            "lon": 10.65 + rng.random() * 0.25,
            "customer_kind": m.CustomerKind.NEW,
            "created_at": first_day,
        }
        for n in range(1, 5_001)
    ]
    parcel_rows_ = []
    for i in range(1, parcels + 1):
        day = (i - 1) * days // parcels
        start = first_day.replace(hour=5) + timedelta(days=day)
        end = (
            min(start + timedelta(hours=14), now)
            if day == days - 1
            else (start + timedelta(hours=14))
        )
        ordered = start + (end - start) * rng.random()
        parcel_rows_.append(_parcel(i, ordered, now, rng))
    invoices = [_invoice(p, rng) for p in parcel_rows_]
    for p in parcel_rows_:
        del p["_age"]

    components = [
        ("web_shop", "Web shop", m.ComponentKind.WEB_SHOP, ""),
        ("node_eu", "Payment node EU", m.ComponentKind.PAYMENT_NODE, "eu-north"),
        ("node_us", "Payment node US", m.ComponentKind.PAYMENT_NODE, "us-east"),
        ("node_ap", "Payment node AP", m.ComponentKind.PAYMENT_NODE, "ap-south"),
        ("tracker", "Payment tracker", m.ComponentKind.PAYMENT_TRACKER, ""),
        ("db_primary", "Order DB primary", m.ComponentKind.ORDER_DB_PRIMARY, ""),
        ("db_standby", "Order DB standby", m.ComponentKind.ORDER_DB_STANDBY, ""),
        ("scheduler", "Route scheduler", m.ComponentKind.ROUTE_SCHEDULER, ""),
        ("driver_app", "Driver app", m.ComponentKind.DRIVER_APP, ""),
        ("sms", "SMS gateway", m.ComponentKind.SMS_GATEWAY, ""),
        ("status_site", "Status site", m.ComponentKind.STATUS_SITE, ""),
    ]
    component_rows_ = [
        {
            "id": n,
            "key": key,
            "name": name,
            "kind": kind,
            "region": region,
            "provider": "",
            "state": m.ComponentState.OPERATIONAL,
            "state_since": day_start,
            "note": "",
        }
        for n, (key, name, kind, region) in enumerate(components, start=1)
    ]
    # A probe every 15 s for the nine hours since the day began.
    probes = [
        {
            "component_id": c["id"],
            "at": day_start + timedelta(seconds=15 * k),
            "state": m.ComponentState.OPERATIONAL,
            "latency_ms": rng.randint(20, 400),
            "detail": "",
        }
        for c in component_rows_
        for k in range(9 * 240)
    ]

    open_today = [p for p in parcel_rows_ if p["status"] is m.ParcelStatus.ORDERED][
        -200:
    ]
    with Progress(console=console, transient=False) as progress:
        total = len(parties) + 2 * parcels + len(probes) + len(component_rows_)
        task = progress.add_task("bulk load", total=total)
        with engine.begin() as connection:
            for table, rows in (
                (m.Party, parties),
                (m.Parcel, parcel_rows_),
                (m.Invoice, invoices),
                (m.Component, component_rows_),
                (m.HealthReport, probes),
            ):
                for chunk in _chunks(rows):
                    connection.execute(insert(table), chunk)
                    progress.advance(task, len(chunk))
            _load_fleet(connection, open_today, now)
    with Session(engine) as session, session.begin():
        set_simulated_time(session, now=now, day_start=day_start, speed=1.0)
    return now


def _load_fleet(
    connection: Any, open_parcels: list[dict[str, Any]], now: datetime
) -> None:
    connection.execute(
        insert(m.Depot), [{"id": 1, "name": "Alna", "lat": 59.93, "lon": 10.84}]
    )
    vans = 20
    connection.execute(
        insert(m.Vehicle),
        [
            {
                "id": v,
                "plate": f"EV {10000 + v}",
                "capacity": 30,
                "depot_id": 1,
                "driver_id": None,
                "status": m.VehicleStatus.ON_ROUTE,
                "lat": 59.9 + v * 0.002,
                "lon": 10.7 + v * 0.005,
                "seen_at": now,
            }
            for v in range(1, vans + 1)
        ],
    )
    connection.execute(
        insert(m.Plan),
        [
            {
                "id": 1,
                "version": 1,
                "status": m.PlanStatus.PUBLISHED,
                "reason": "benchmark",
                "created_at": now,
                "created_by": "bench",
            }
        ],
    )
    connection.execute(
        insert(m.Route),
        [
            {"id": v, "plan_id": 1, "vehicle_id": v, "driver_id": None}
            for v in range(1, vans + 1)
        ],
    )
    stops = []
    for n, parcel in enumerate(open_parcels):
        route = 1 + n % vans
        for offset, kind in enumerate((m.StopKind.PICKUP, m.StopKind.DELIVERY)):
            stops.append(
                {
                    "route_id": route,
                    "sequence": 2 * (n // vans) + offset + 1,
                    "parcel_id": parcel["id"],
                    "kind": kind,
                    "status": m.StopStatus.PLANNED,
                    "eta": now + timedelta(minutes=10 * n + offset),
                    "done_at": None,
                }
            )
    connection.execute(insert(m.Stop), stops)


@contextmanager
def captured_sql(engine: Engine) -> Iterator[list[tuple[str, Any]]]:
    """Record every statement the engine sends, with its parameters."""
    statements: list[tuple[str, Any]] = []

    def record(conn: Any, cursor: Any, statement: str, params: Any, *_: Any) -> None:
        if not statement.lstrip().upper().startswith("BEGIN"):
            statements.append((statement, params))

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", record)


def _median_ms(action: Callable[[], Any], runs: int) -> float:
    timings = []
    for _ in range(runs):
        started = time.perf_counter()
        action()
        timings.append((time.perf_counter() - started) * 1000)
    return statistics.median(timings)


def time_queries(engine: Engine, *, runs: int) -> list[tuple[str, float, float]]:
    """Return (query, ours ms, raw ms) for each overview query."""
    with Session(engine) as session:
        day = operating_day(session, zone=ZONE)
    code = "b0000007"  # typed in lower case: the codes of parcels 7000-7999
    queries: list[tuple[str, Callable[[Session], Any]]] = [
        ("operating day (clock)", lambda s: operating_day(s, zone=ZONE)),
        ("day KPIs", lambda s: day_kpis(s, day=day)),
        (
            "parcel table, no filter",
            lambda s: parcel_rows(s, day=day, filters=ParcelFilter()),
        ),
        (
            "parcel table, late only",
            lambda s: parcel_rows(s, day=day, filters=ParcelFilter(late_only=True)),
        ),
        (
            "parcel table, lightning+new",
            lambda s: parcel_rows(
                s,
                day=day,
                filters=ParcelFilter(
                    payment_states=(m.InvoiceStatus.NEW,),
                    methods=(m.PaymentMethod.LIGHTNING,),
                ),
            ),
        ),
        (
            "parcel table, code search",
            lambda s: parcel_rows(s, day=day, filters=ParcelFilter(code=code)),
        ),
        ("components + latest probe", component_rows),
        ("map: depots, vans, stops", map_points),
        ("parcel flow (15 min buckets)", lambda s: parcel_flow(s, day=day)),
    ]

    results = []
    raw_connection = engine.raw_connection()
    try:
        for name, query in queries:
            with Session(engine) as session:
                query(session)  # warm caches and the statement cache
                with captured_sql(engine) as statements:
                    query(session)
                ours = _median_ms(partial(query, session), runs)

            def replay() -> None:
                cursor = raw_connection.cursor()
                for statement, params in statements:
                    cursor.execute(statement, params)
                    cursor.fetchall()
                cursor.close()

            replay()
            raw = _median_ms(replay, runs)
            results.append((name, ours, raw))
        raw_connection.rollback()
    finally:
        raw_connection.close()
    return results


def report(
    label: str, results: list[tuple[str, float, float]], snapshot_ms: float
) -> None:
    """Print one table per database."""
    table = Table(title=label)
    for column in ("query", "ours ms", "raw ms", "ratio"):
        table.add_column(column, justify="left" if column == "query" else "right")
    for name, ours, raw in results:
        table.add_row(name, f"{ours:.2f}", f"{raw:.2f}", f"{ours / raw:.2f}")
    ours_total = sum(r[1] for r in results)
    raw_total = sum(r[2] for r in results)
    table.add_row(
        "[b]total[/b]",
        f"[b]{ours_total:.2f}[/b]",
        f"[b]{raw_total:.2f}[/b]",
        f"[b]{ours_total / raw_total:.2f}[/b]",
    )
    table.add_row("whole overview_snapshot()", f"{snapshot_ms:.2f}", "", "")
    console.print(table)


def bench(url: str, *, parcels: int, days: int, runs: int, seed: int) -> None:
    """Load one database and time the overview on it."""
    engine = create_db_engine(url, create_folder=True)
    upgrade_database(engine)
    console.print(f"[b]{describe_url(url)}[/b]: loading {parcels:,} parcels")
    started = time.perf_counter()
    now = load_world(engine, parcels=parcels, days=days, seed=seed)
    console.print(
        f"loaded in {time.perf_counter() - started:.1f} s; now {local_time(now, ZONE)}"
    )
    with engine.begin() as connection:
        connection.execute(text("ANALYZE"))

    results = time_queries(engine, runs=runs)
    snapshot_ms = _median_ms(
        lambda: overview_snapshot(engine, zone=ZONE, filters=ParcelFilter()), runs
    )
    with Session(engine) as session:
        kpis = day_kpis(session, day=operating_day(session, zone=ZONE))
    console.print(f"today's KPIs: {kpis}")
    report(
        f"{engine.dialect.name}: {parcels:,} parcels over {days} days",
        results,
        snapshot_ms,
    )
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--parcels", type=int, default=100_000)
    parser.add_argument("--days", type=int, default=14)
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--database-url",
        help="Run on this (empty) PostgreSQL database instead of starting a "
        "throw-away cluster on 127.0.0.1.",
    )
    args = parser.parse_args()
    run = partial(bench, parcels=args.parcels, days=args.days, runs=args.runs)

    with tempfile.TemporaryDirectory(prefix="bench-overview-") as folder:
        run(f"sqlite:///{Path(folder) / 'bench.sqlite3'}", seed=args.seed)
    if args.database_url:
        run(args.database_url, seed=args.seed)
        return
    pg_bin = find_pg_bin()
    if pg_bin is None:
        print("postgresql: skipped, PostgreSQL is not installed (no initdb found)")
        return
    with postgres_cluster(pg_bin) as server_url:
        run(new_database(server_url, prefix="bench"), seed=args.seed)


if __name__ == "__main__":
    main()
