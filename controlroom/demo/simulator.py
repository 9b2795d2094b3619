"""The live simulator: plays the seeded demo day on an accelerated clock.

Run as its own process (``controlroom simulate``). Every tick, about a real
second, it moves the simulated clock on by ``speed`` simulated seconds and,
in one transaction, runs every action of the day that has come due (see
:mod:`controlroom.demo.play`). Stopping it loses nothing: the next run starts
from the stored clock and derives what is due from the database.

While it runs it hosts the day's lab chain and its three lab payment nodes
on 127.0.0.1 (:class:`~controlroom.demo.chain.DemoChain`); on start the chain
is rebuilt up to the stored clock, so the tracker's stored progress matches.
"""

from __future__ import annotations

import logging
import math
import time
from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from datetime import time as wall_time

from rich.console import Console
from rich.progress import BarColumn, Progress, TaskID, TextColumn
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from controlroom.clock import CLOCK_ROW, SimulatedClock, set_simulated_time
from controlroom.demo.chain import DemoChain, invoice_addresses
from controlroom.demo.day import OSLO
from controlroom.demo.parameters import DemoWorld, load_world
from controlroom.demo.play import DayProgress, play_until
from controlroom.errors import DemoWorldError

logger = logging.getLogger(__name__)

FAST_STEP = timedelta(minutes=10)
TICK_SECONDS = 1.0
FAILURES_BEFORE_GIVING_UP = 3


@dataclass
class SimulationSummary:
    """What one run of the simulator did."""

    started_at: datetime
    stopped_at: datetime
    day_end: datetime
    ticks: int = 0
    failed_ticks: int = 0
    interrupted: bool = False
    progress: DayProgress = field(default_factory=DayProgress)

    @property
    def day_over(self) -> bool:
        """Whether the simulated day has been played to its end."""
        return self.stopped_at >= self.day_end


def _oslo(moment: datetime) -> str:
    return moment.astimezone(OSLO).strftime("%H:%M")


def _stored_now(session: Session, world: DemoWorld) -> datetime:
    clock = session.get(SimulatedClock, CLOCK_ROW)
    return clock.now if clock is not None else world.plan.sim_start


def run_simulation(
    engine: Engine,
    *,
    speed: float,
    fast: bool,
    console: Console | None = None,
    until: datetime | wall_time | None = None,
    tick_seconds: float = TICK_SECONDS,
) -> SimulationSummary:
    """Play the demo day from the stored clock to its end (or ``until``).

    ``fast`` plays without waiting, in ten-minute steps; otherwise each tick
    of ``tick_seconds`` real seconds advances ``speed`` times as far. Ctrl-C
    stops after the tick in progress is rolled back; the next run resumes.
    A bare wall-clock ``time`` for ``until`` is Oslo wall-clock time on the demo day.
    """
    if not math.isfinite(speed) or speed <= 0:
        raise DemoWorldError(
            f"The simulator speed must be a positive number, not {speed}."
        )
    with Session(engine) as session:
        world = load_world(session)
        start = _stored_now(session, world)
    if isinstance(until, wall_time):
        day = world.plan.day_start.astimezone(OSLO).date()
        until = datetime.combine(day, until, tzinfo=OSLO).astimezone(UTC)
    end = world.plan.day_end if until is None else min(until, world.plan.day_end)
    summary = SimulationSummary(start, start, world.plan.day_end)
    if start >= end:
        _say(console, f"Nothing to play: the simulated clock is at {_oslo(start)}.")
        return summary

    bar = _progress_bar(console)
    with bar if bar is not None else nullcontext(), DemoChain(world) as chain:
        with Session(engine) as session:
            chain.advance_to(start, invoice_addresses(session, world))
        task = bar.add_task("", total=(end - start).total_seconds()) if bar else None
        try:
            _loop(
                engine, world, chain, summary, end, speed, fast, tick_seconds, bar, task
            )
        except KeyboardInterrupt:
            summary.interrupted = True
    _say(console, _describe(summary))
    return summary


def _loop(
    engine: Engine,
    world: DemoWorld,
    chain: DemoChain,
    summary: SimulationSummary,
    end: datetime,
    speed: float,
    fast: bool,
    tick_seconds: float,
    bar: Progress | None,
    task: TaskID | None,
) -> None:
    failures = 0
    last_tick = time.monotonic()
    while summary.stopped_at < end:
        if not fast:
            time.sleep(tick_seconds)
        now_real = time.monotonic()
        real_elapsed, last_tick = now_real - last_tick, now_real
        step = FAST_STEP if fast else timedelta(seconds=real_elapsed * speed)
        try:
            with Session(engine) as session, session.begin():
                target = min(_stored_now(session, world) + step, end)
                progress = play_until(session, world, until=target, chain=chain)
                set_simulated_time(
                    session, now=target, day_start=world.plan.day_start, speed=speed
                )
        except Exception:
            # The outer loop of a background job: log, and try the next tick.
            failures += 1
            summary.failed_ticks += 1
            logger.exception("simulator tick failed failures=%s", failures)
            if fast and failures >= FAILURES_BEFORE_GIVING_UP:
                raise DemoWorldError(
                    f"The simulator failed {failures} ticks in a row at "
                    f"{_oslo(summary.stopped_at)}; see the log above."
                ) from None
            continue
        failures = 0
        summary.ticks += 1
        summary.stopped_at = target
        summary.progress.add(progress)
        if bar is not None and task is not None:
            bar.update(
                task,
                completed=(target - summary.started_at).total_seconds(),
                description=_status(summary),
            )


def _status(summary: SimulationSummary) -> str:
    done = summary.progress
    return (
        f"{_oslo(summary.stopped_at)} Oslo · {done.orders} orders · "
        f"{done.payments} payments · {done.pickups} picked up · "
        f"{done.deliveries} delivered"
    )


def _describe(summary: SimulationSummary) -> str:
    done = summary.progress
    how = "stopped by Ctrl-C" if summary.interrupted else "played"
    ending = " The day is over." if summary.day_over else ""
    return (
        f"Simulated day {how} from {_oslo(summary.started_at)} to "
        f"{_oslo(summary.stopped_at)} (Oslo) in {summary.ticks} ticks: "
        f"{done.orders} orders placed, {done.payments} payments, "
        f"{done.blocks} blocks tracked, {done.expired} invoices expired, "
        f"{done.cancelled} orders cancelled, {done.pickups} pickups, "
        f"{done.deliveries} deliveries, {done.health_reports} health reports."
        f"{ending}"
    )


def _say(console: Console | None, message: str) -> None:
    logger.info("%s", message)
    if console is not None:
        console.print(message)


def _progress_bar(console: Console | None) -> Progress | None:
    if console is None:
        return None
    return Progress(
        TextColumn("{task.description}"), BarColumn(), console=console, transient=True
    )
