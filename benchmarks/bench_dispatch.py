"""Time the dispatch screen's re-plan on the live demo day, end to end.

Seeds the demo world (lc101 over Oslo) in a temporary folder, plays it to
10:30, declares the busiest van lost, and times each step a dispatcher
triggers, database reads and writes included (median of several runs, each
rolled back so every run starts from the same morning)::

    .venv/bin/python benchmarks/bench_dispatch.py [--runs 5] [--full-seconds 5]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from rich.console import Console
from rich.table import Table
from sqlalchemy import Engine
from sqlalchemy.orm import Session

OSLO = ZoneInfo("Europe/Oslo")
DAY = date(2026, 12, 4)
MORNING = datetime(2026, 12, 4, 10, 30, tzinfo=OSLO).astimezone(UTC)


def main() -> None:
    """Build the morning, run every step ``--runs`` times, print the table."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--full-seconds", type=float, default=5.0)
    args = parser.parse_args()
    if args.runs < 1 or args.full_seconds <= 0:
        parser.error("--runs must be at least 1 and --full-seconds positive")

    console = Console()
    with tempfile.TemporaryDirectory() as folder:
        os.environ["CONTROLROOM_DATA_DIR"] = folder
        engine = _morning(Path(folder), console)
        rows = _measure(engine, args.runs, args.full_seconds)
        engine.dispose()

    table = Table(title="Re-plan after a breakdown, lc101 demo day at 10:30")
    for column in ("step", "median ms", "min ms", "max ms", "runs"):
        table.add_column(column, justify="left" if column == "step" else "right")
    for step, times in rows:
        table.add_row(
            step,
            f"{statistics.median(times):.1f}",
            f"{min(times):.1f}",
            f"{max(times):.1f}",
            str(len(times)),
        )
    console.print(table)


def _morning(folder: Path, console: Console) -> Engine:
    from controlroom.db import create_db_engine
    from controlroom.demo.simulator import run_simulation
    from controlroom.demo.world import seed_demo_world
    from controlroom.schema import upgrade_database

    engine = create_db_engine(f"sqlite:///{folder / 'bench.sqlite3'}")
    upgrade_database(engine)
    seed_demo_world(engine, day=DAY, console=console)
    run_simulation(engine, speed=60, fast=True, until=MORNING)
    return engine


def _measure(
    engine: Engine, runs: int, full_seconds: float
) -> list[tuple[str, list[float]]]:
    from controlroom.dispatch.day_reading import take_snapshot
    from controlroom.dispatch.degradations import declare_vehicle_lost
    from controlroom.dispatch.publishing import publish
    from controlroom.dispatch.replanning import SearchBudget, replan

    quick = SearchBudget(max_solutions=0)
    full = SearchBudget(max_solutions=10**9, time_limit=full_seconds, seed=1)

    def breakdown(session: Session) -> None:
        snapshot = take_snapshot(session, at=MORNING, zone=OSLO)
        busiest = max(snapshot.problem.vehicles, key=lambda v: len(v.on_board))
        declare_vehicle_lost(
            session, vehicle=snapshot.vehicles[busiest.id], at=MORNING, actor="bench"
        )

    steps: dict[str, Callable[[Session], object]] = {
        "read the day (snapshot)": lambda s: take_snapshot(s, at=MORNING, zone=OSLO),
        "quick re-plan (repair + store draft)": lambda s: replan(
            s, at=MORNING, zone=OSLO, actor="bench", reason="bench", budget=quick
        ),
        f"full re-plan ({full_seconds:g} s search limit)": lambda s: replan(
            s, at=MORNING, zone=OSLO, actor="bench", reason="bench", budget=full
        ),
        "quick re-plan, then publish": lambda s: publish(
            s,
            draft=replan(
                s, at=MORNING, zone=OSLO, actor="bench", reason="b", budget=quick
            ),
            at=MORNING,
            zone=OSLO,
            actor="bench",
        ),
    }
    rows = []
    for name, step in steps.items():
        times = []
        for _ in range(1 if name.startswith("full") else runs):
            with Session(engine) as session:
                session.begin()
                breakdown(session)
                started = time.perf_counter()
                step(session)
                times.append((time.perf_counter() - started) * 1000)
                session.rollback()
        rows.append((name, times))
    return rows


if __name__ == "__main__":
    main()
