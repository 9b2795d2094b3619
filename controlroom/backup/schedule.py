"""Snapshots and restore drills on a schedule, so the backup stays proven.

``controlroom backup schedule`` runs beside ``controlroom backup ship``. Each
round it asks what is due and does it:

* a **snapshot** when the store's newest snapshot is older than
  ``backup_snapshot_every_minutes`` (or there is none). A restore starts
  from the newest snapshot, so this bounds how much journal a restore has
  to re-apply, and with it how long a restore takes.
* a **restore drill** when the newest drill of any outcome started more
  than ``backup_drill_every_hours`` ago (or there is none). A failed drill
  is recorded like any other and waits its turn like a passed one: a drill
  that cannot pass is an alarm for people to act on, not a loop to retry
  every second. The ransomware drill is never scheduled; it strikes the
  primary and needs a person to say so.

The Backups screen shows both dates, when each is next due, and flags a
schedule that has fallen behind (:func:`schedule_state`): a snapshot more
than twice its interval old, or no passed drill within twice its interval.

Times are the machine's clock (UTC), not the demo's simulated clock: the
store and the drills run in real time.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from controlroom.backup.drills import RESTORE_DRILL, RESTORED, run_restore_drill
from controlroom.backup.models import BackupDrill
from controlroom.backup.snapshots import snapshot_manifest_keys
from controlroom.backup.stores import BackupStore, open_store
from controlroom.config import Settings
from controlroom.db import utcnow
from controlroom.errors import ControlRoomError

logger = logging.getLogger(__name__)

ACTOR = "backup-schedule"
SNAPSHOT = "snapshot"
DRILL = "drill"
# A schedule is flagged once its newest result is this many intervals old.
BEHIND_AFTER_INTERVALS = 2

# The time stamp in a snapshot's key (controlroom.backup.snapshots).
_STAMP = re.compile(r"-(\d{8}T\d{12}Z)\.json$")


@dataclass(frozen=True)
class Cadence:
    """How often a snapshot and a restore drill are due."""

    snapshot_every: timedelta
    drill_every: timedelta

    def __post_init__(self) -> None:
        for name, interval in (
            ("snapshot", self.snapshot_every),
            ("drill", self.drill_every),
        ):
            if interval <= timedelta(0):
                raise ValueError(f"The {name} interval must be positive.")

    @classmethod
    def of(cls, *, snapshot_minutes: float, drill_hours: float) -> Cadence:
        """A cadence from the settings' units."""
        return cls(timedelta(minutes=snapshot_minutes), timedelta(hours=drill_hours))


@dataclass(frozen=True)
class ScheduleState:
    """What the schedule has done, and what is due when."""

    cadence: Cadence
    now: datetime
    last_snapshot_at: datetime | None
    last_drill_at: datetime | None
    last_passed_drill_at: datetime | None

    @property
    def snapshot_due_at(self) -> datetime:
        """When the next snapshot is due (now, if none was taken)."""
        if self.last_snapshot_at is None:
            return self.now
        return self.last_snapshot_at + self.cadence.snapshot_every

    @property
    def drill_due_at(self) -> datetime:
        """When the next restore drill is due (now, if none was run)."""
        if self.last_drill_at is None:
            return self.now
        return self.last_drill_at + self.cadence.drill_every

    @property
    def snapshot_due(self) -> bool:
        """Whether a snapshot is due now."""
        return self.snapshot_due_at <= self.now

    @property
    def drill_due(self) -> bool:
        """Whether a restore drill is due now."""
        return self.drill_due_at <= self.now

    @property
    def problems(self) -> tuple[str, ...]:
        """What has fallen behind, in words for the screen."""
        found: list[str] = []
        snapshot_limit = self.cadence.snapshot_every * BEHIND_AFTER_INTERVALS
        if self.last_snapshot_at is None:
            found.append("No snapshot in the store yet.")
        elif self.now - self.last_snapshot_at > snapshot_limit:
            found.append(
                f"The newest snapshot is {_age(self.now - self.last_snapshot_at)} "
                f"old; one is due every {_age(self.cadence.snapshot_every)}."
            )
        drill_limit = self.cadence.drill_every * BEHIND_AFTER_INTERVALS
        if self.last_passed_drill_at is None:
            found.append("No restore drill has passed yet.")
        elif self.now - self.last_passed_drill_at > drill_limit:
            found.append(
                "The last passed restore drill was "
                f"{_age(self.now - self.last_passed_drill_at)} ago; one is due "
                f"every {_age(self.cadence.drill_every)}."
            )
        return tuple(found)


@dataclass(frozen=True)
class ScheduledRun:
    """One thing the schedule did: a snapshot or a drill, and how it went."""

    what: str
    ok: bool
    detail: str


def _age(delta: timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    if minutes < 120:
        return f"{minutes} min"
    hours = minutes // 60
    if hours < 48:
        return f"{hours} h"
    return f"{hours // 24} days"


def last_snapshot_at(store: BackupStore) -> datetime | None:
    """When the store's newest snapshot was taken, from its manifest's key."""
    stamps = [
        datetime.strptime(match.group(1), "%Y%m%dT%H%M%S%fZ").replace(tzinfo=UTC)
        for key in snapshot_manifest_keys(store)
        if (match := _STAMP.search(key))
    ]
    return max(stamps, default=None)


def _last_drill(session: Session, *, passed: bool) -> datetime | None:
    query = select(func.max(BackupDrill.started_at)).where(
        BackupDrill.kind == RESTORE_DRILL
    )
    if passed:
        query = query.where(BackupDrill.outcome == RESTORED)
    return session.scalar(query)


def schedule_state(
    session: Session, store: BackupStore, cadence: Cadence, *, now: datetime
) -> ScheduleState:
    """Read what the schedule has done from the store and the drill records."""
    return ScheduleState(
        cadence=cadence,
        now=now,
        last_snapshot_at=last_snapshot_at(store),
        last_drill_at=_last_drill(session, passed=False),
        last_passed_drill_at=_last_drill(session, passed=True),
    )


SnapshotTaker = Callable[[], str]


def run_due(
    engine: Engine,
    store: BackupStore,
    cadence: Cadence,
    *,
    take_snapshot: SnapshotTaker,
    now: datetime | None = None,
) -> tuple[ScheduledRun, ...]:
    """Take the snapshot and run the drill that are due, in that order.

    ``take_snapshot`` takes one and says what it stored. A snapshot goes
    first, so a drill due at the same time restores from it. A failure of
    either is returned, not raised: the schedule carries on.
    """
    with Session(engine) as session:
        state = schedule_state(session, store, cadence, now=now or utcnow())
    runs: list[ScheduledRun] = []
    if state.snapshot_due:
        try:
            runs.append(ScheduledRun(SNAPSHOT, True, take_snapshot()))
        except ControlRoomError as exc:
            logger.error("scheduled snapshot failed error=%s", exc)
            runs.append(ScheduledRun(SNAPSHOT, False, str(exc)))
    if state.drill_due:
        result = run_restore_drill(engine, store, actor=ACTOR)
        detail = (
            f"restored in {result.seconds:.1f} s, {result.lost_events} event(s) lost"
            if result.ok
            else result.problem
        )
        runs.append(ScheduledRun(DRILL, result.ok, detail))
    return tuple(runs)


def run_schedule(
    engine: Engine,
    store: BackupStore,
    cadence: Cadence,
    *,
    take_snapshot: SnapshotTaker,
    every_seconds: float = 30.0,
    rounds: int | None = None,
    on_run: Callable[[ScheduledRun], None] | None = None,
) -> None:
    """Check every ``every_seconds`` and do what is due, until ``rounds`` are done.

    The first round's errors are raised; later ones are logged.
    """
    done = 0
    while rounds is None or done < rounds:
        started = time.monotonic()
        try:
            runs = run_due(engine, store, cadence, take_snapshot=take_snapshot)
        except Exception:
            # The first round's errors are the caller's (a wrong database or
            # store); later, a store or database away this round is tried
            # again the next, as the outer loop of a background job.
            if not done:
                raise
            logger.exception("backup schedule round failed")
        else:
            for run in runs:
                if on_run is not None:
                    on_run(run)
        done += 1
        if rounds is None or done < rounds:
            time.sleep(max(0.0, every_seconds - (time.monotonic() - started)))


def schedule_board(
    engine: Engine, settings: Settings, *, now: datetime | None = None
) -> ScheduleState:
    """The schedule as the Backups screen shows it, for the configured store.

    A store that cannot be listed raises BackupError, for the screen to say.
    """
    cadence = Cadence.of(
        snapshot_minutes=settings.backup_snapshot_every_minutes,
        drill_hours=settings.backup_drill_every_hours,
    )
    store = open_store(settings)
    try:
        with Session(engine) as session:
            return schedule_state(session, store, cadence, now=now or utcnow())
    finally:
        store.close()
