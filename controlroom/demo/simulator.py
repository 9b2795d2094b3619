"""The live simulator: plays the seeded demo day on an accelerated clock.

Run as its own process (``controlroom simulate``). Every tick, about a real
second, it moves the simulated clock on by ``speed`` simulated seconds and
runs every action of the day that has come due (see
:mod:`controlroom.demo.play`). Stopping it loses nothing: the next run starts
from the stored clock and derives what is due from the database.

While it runs it hosts the day's lab chain and its three lab payment nodes
on 127.0.0.1 (:class:`~controlroom.demo.chain.DemoChain`); on start the chain
is rebuilt up to the stored clock, so the tracker's stored progress matches.
It also hosts its own lab SMSC (:mod:`controlroom.demo.publishing`). The
outbox runs a round against it on a fixed grid of simulated moments; a
tick is played in one transaction per stretch between two such moments,
and after each stretch the status site is rebuilt if an incident or a
component changed (and at every round).
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
from controlroom.config import load_settings
from controlroom.demo.chain import DemoChain, invoice_addresses
from controlroom.demo.day import OSLO
from controlroom.demo.parameters import DemoWorld, load_world
from controlroom.demo.play import DayProgress, play_until
from controlroom.demo.publishing import DemoSmsc, SiteBuilder, is_round, next_round
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
    with (
        bar if bar is not None else nullcontext(),
        DemoChain(world) as chain,
        DemoSmsc(engine, world) as smsc,
    ):
        with Session(engine) as session:
            chain.advance_to(start, invoice_addresses(session, world))
        task = bar.add_task("", total=(end - start).total_seconds()) if bar else None
        hosts = _Hosts(chain, smsc, SiteBuilder(engine, load_settings()))
        try:
            _loop(
                engine, world, hosts, summary, end, speed, fast, tick_seconds, bar, task
            )
        except KeyboardInterrupt:
            summary.interrupted = True
    _say(console, _describe(summary))
    return summary


@dataclass(frozen=True)
class _Hosts:
    """What the simulator hosts while it runs: chain, SMSC, site builder."""

    chain: DemoChain
    smsc: DemoSmsc
    site: SiteBuilder


def _loop(
    engine: Engine,
    world: DemoWorld,
    hosts: _Hosts,
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
            with Session(engine) as session:
                now = _stored_now(session, world)
            target = min(now + step, end)
            # A tick ends at every outbox round on its way, so rounds fall
            # on the same simulated moments however fast the clock runs.
            while now < target:
                now = min(target, next_round(world, now))
                _play_segment(engine, world, hosts, summary, now, speed)
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
        if bar is not None and task is not None:
            bar.update(
                task,
                completed=(summary.stopped_at - summary.started_at).total_seconds(),
                description=_status(summary),
            )


def _play_segment(
    engine: Engine,
    world: DemoWorld,
    hosts: _Hosts,
    summary: SimulationSummary,
    until: datetime,
    speed: float,
) -> None:
    """Play to ``until`` in one transaction, then send and publish."""
    with Session(engine) as session, session.begin():
        progress = play_until(session, world, until=until, chain=hosts.chain)
        set_simulated_time(
            session, now=until, day_start=world.plan.day_start, speed=speed
        )
    summary.ticks += 1
    summary.stopped_at = until
    summary.progress.add(progress)
    _publish(hosts, world, until)


def _publish(hosts: _Hosts, world: DemoWorld, at: datetime) -> None:
    round_due = is_round(world, at)
    try:
        if round_due:
            hosts.smsc.run_round(at)
        hosts.site.build(at, force=round_due)
    except Exception:
        # The outer loop of a background job: the tick is played and kept;
        # the next round sends what this one could not.
        logger.exception("publishing after the tick failed at=%s", at.isoformat())


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
        f"{done.deliveries} deliveries ({done.texted_stops} stops reported by "
        f"SMS), {done.health_reports} health reports, {done.story_steps} "
        f"incident story steps.{ending}"
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
