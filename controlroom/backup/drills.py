"""Restore drills, recorded: proof that the write-once store brings orders back.

A *restore drill* rebuilds the database from the store into a throw-away
file and records how long it took and what it reached. A *ransomware
drill* plays the incident model "ransomware on the order database" on the
embedded SQLite demo: it overwrites the primary file and the copies kept
beside it with random bytes, moves them into quarantine (kept for the
forensic hand-off), restores from the write-once store into the primary's
path, and records the drill in the restored database. Before it strikes, it
copies the primary aside with SQLite's backup API, so a failed drill puts
the database back as it was.

Both record a ``backup_drills`` row and journal ``BackupDrillRecorded``.
``lost_events`` is the head the primary recorded as shipped minus the head
the restore reached: the events the store was trusted with and lost.
"""

from __future__ import annotations

import logging
import os
import shutil
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from tempfile import TemporaryDirectory

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from controlroom.backup.models import BackupDrill
from controlroom.backup.restore import RestoreReport, restore_database
from controlroom.backup.service import shipped_head
from controlroom.backup.snapshots import copy_sqlite
from controlroom.backup.stores import BackupStore
from controlroom.config import Settings
from controlroom.db import _sqlite_path, create_db_engine, describe_url, utcnow
from controlroom.errors import ControlRoomError, RestoreRefused
from controlroom.journal import append_event, journal_head
from controlroom.schema import open_checked_database

logger = logging.getLogger(__name__)

RESTORE_DRILL = "restore"
RANSOMWARE_DRILL = "ransomware"
RESTORED = "restored"
FAILED = "failed"
DRILL_FOLDER = "drills"


@dataclass(frozen=True)
class DrillResult:
    """One drill as recorded, with the restore's report when it got that far."""

    drill_id: int
    kind: str
    seconds: float
    lost_events: int
    outcome: str
    problem: str
    report: RestoreReport | None
    quarantine: str = ""
    # Events the primary held that were not yet shipped when the drill
    # began: a real attack takes them with the primary.
    unshipped_events: int = 0
    # The primary as it was before a ransomware drill struck (owner-only).
    copy_before: str = ""

    @property
    def ok(self) -> bool:
        """Whether the restore succeeded."""
        return self.outcome == RESTORED


@dataclass(frozen=True)
class _Start:
    kind: str
    at: datetime
    clock: float
    location: str
    target: str
    primary: int
    shipped: int


def _start(engine: Engine, store: BackupStore, *, kind: str, target: str) -> _Start:
    with Session(engine) as session:
        primary, _ = journal_head(session)
        shipped = shipped_head(session, location=store.location)
    return _Start(
        kind,
        utcnow(),
        time.perf_counter(),
        store.location,
        target,
        primary,
        shipped[0] if shipped else 0,
    )


def record_drill(
    session: Session,
    *,
    start: _Start,
    report: RestoreReport | None,
    problem: str,
    actor: str,
) -> BackupDrill:
    """Store one drill and journal ``BackupDrillRecorded``."""
    finished = utcnow()
    restored = report.head_restored if report else (0, "")
    # Without a record of what was shipped, the store's own head stands in.
    shipped = start.shipped or (report.head_shipped[0] if report else 0)
    drill = BackupDrill(
        kind=start.kind,
        started_at=start.at,
        finished_at=finished,
        seconds=time.perf_counter() - start.clock,
        location=start.location[:300],
        target=start.target[:300],
        snapshot_key=report.snapshot.object_key if report else "",
        events_appended=report.appended if report else 0,
        events_reapplied=sum(report.replay.applied.values()) if report else 0,
        head_primary_seq=start.primary,
        head_shipped_seq=shipped,
        head_restored_seq=restored[0],
        head_restored_hash=restored[1],
        lost_events=max(0, shipped - restored[0]),
        outcome=RESTORED if report else FAILED,
        problem=problem[:500],
        started_by=actor[:64],
    )
    session.add(drill)
    session.flush()
    append_event(
        session,
        kind="BackupDrillRecorded",
        subject=f"backup-drill:{drill.id}",
        actor=actor,
        occurred_at=finished,
        payload={
            "kind": drill.kind,
            "outcome": drill.outcome,
            "seconds": round(drill.seconds, 3),
            "snapshot": drill.snapshot_key,
            "head_shipped": drill.head_shipped_seq,
            "head_restored": drill.head_restored_seq,
            "lost_events": drill.lost_events,
            "problem": drill.problem,
        },
    )
    return drill


def _result(
    drill: BackupDrill,
    report: RestoreReport | None,
    quarantine: str = "",
    copy_before: str = "",
) -> DrillResult:
    return DrillResult(
        drill.id,
        drill.kind,
        drill.seconds,
        drill.lost_events,
        drill.outcome,
        drill.problem,
        report,
        quarantine,
        max(0, drill.head_primary_seq - drill.head_shipped_seq),
        copy_before,
    )


def run_restore_drill(engine: Engine, store: BackupStore, *, actor: str) -> DrillResult:
    """Restore into a temporary SQLite file and record the drill in ``engine``."""
    with TemporaryDirectory(prefix="restore-drill-") as folder:
        target = f"sqlite:///{Path(folder) / 'restored.sqlite3'}"
        start = _start(engine, store, kind=RESTORE_DRILL, target=target)
        report: RestoreReport | None = None
        problem = ""
        try:
            report = restore_database(store, target)
        except ControlRoomError as exc:
            problem = str(exc)
    with Session(engine) as session, session.begin():
        drill = record_drill(
            session, start=start, report=report, problem=problem, actor=actor
        )
        result = _result(drill, report)
    logger.info(
        "restore drill outcome=%s lost=%s seconds=%.2f",
        result.outcome,
        result.lost_events,
        result.seconds,
    )
    return result


def _victims(path: Path) -> list[Path]:
    # The primary, its WAL and shared memory, and any copy kept beside it
    # under its name (controlroom.sqlite3.bak, ...): what ransomware on the
    # database server reaches. The write-once store is not among them.
    return sorted(
        candidate
        for candidate in path.parent.iterdir()
        if candidate.is_file() and candidate.name.startswith(path.name)
    )


def _strike(victims: list[Path], quarantine: Path) -> None:
    # Overwrite each file with random bytes of its own size, as encryption
    # would, then move it into quarantine for the forensic hand-off.
    quarantine.mkdir(mode=0o700, parents=True)
    for victim in victims:
        size = victim.stat().st_size
        with open(victim, "r+b") as file:
            file.write(os.urandom(size))
            file.flush()
            os.fsync(file.fileno())
        victim.rename(quarantine / (victim.name + ".encrypted"))


def ransomware_target(settings: Settings, database_url: str) -> Path:
    """The primary file a ransomware drill may strike; refuse any other."""
    path = _sqlite_path(database_url)
    if path is None:
        raise RestoreRefused(
            f"The ransomware drill runs only on a SQLite file, not on "
            f"{describe_url(database_url)}."
        )
    path = path.resolve()
    data_dir = settings.data_dir.resolve()
    if not path.is_relative_to(data_dir):
        raise RestoreRefused(
            f"The ransomware drill overwrites the database, so it only runs on "
            f"one inside the data folder {data_dir}; {path} is not."
        )
    return path


def run_ransomware_drill(
    settings: Settings,
    store: BackupStore,
    *,
    database_url: str,
    actor: str,
    i_mean_it: bool,
) -> DrillResult:
    """Overwrite the primary and its local copies, restore it, record the drill."""
    if not i_mean_it:
        raise RestoreRefused(
            "The ransomware drill overwrites the database and its local copies "
            "with junk before restoring them; pass --i-mean-it to run it."
        )
    path = ransomware_target(settings, database_url)
    engine = open_checked_database(database_url)
    try:
        start = _start(engine, store, kind=RANSOMWARE_DRILL, target=str(path))
    finally:
        engine.dispose()
    folder = (
        settings.data_dir.resolve()
        / DRILL_FOLDER
        / start.at.strftime("%Y%m%dT%H%M%S%fZ")
    )
    folder.mkdir(mode=0o700, parents=True)
    aside = folder / "primary-before-drill.sqlite3"
    copy_sqlite(path, aside)
    aside.chmod(0o600)  # the whole database, personal data included
    quarantine = folder / "quarantine"

    _strike(_victims(path), quarantine)
    logger.warning("ransomware drill struck primary=%s", path)
    report: RestoreReport | None = None
    problem = ""
    try:
        report = restore_database(store, database_url)
    except ControlRoomError as exc:
        problem = str(exc)
        # The drill failed; the database must not stay lost because of it.
        for leftover in (Path(f"{path}-wal"), Path(f"{path}-shm"), path):
            leftover.unlink(missing_ok=True)
        shutil.copyfile(aside, path)

    engine = create_db_engine(database_url)
    try:
        with Session(engine) as session, session.begin():
            drill = record_drill(
                session, start=start, report=report, problem=problem, actor=actor
            )
            result = _result(drill, report, str(quarantine), str(aside))
    finally:
        engine.dispose()
    logger.info(
        "ransomware drill outcome=%s lost=%s seconds=%.2f",
        result.outcome,
        result.lost_events,
        result.seconds,
    )
    return result


@dataclass(frozen=True)
class DrillRow:
    """One drill as the Backups screen lists it."""

    at: datetime
    kind: str
    seconds: float
    lost_events: int
    outcome: str
    problem: str


def recent_drills(session: Session, *, limit: int = 10) -> tuple[DrillRow, ...]:
    """The newest drills first."""
    rows = session.scalars(
        select(BackupDrill).order_by(BackupDrill.started_at.desc()).limit(limit)
    )
    return tuple(
        DrillRow(
            row.started_at,
            row.kind,
            row.seconds,
            row.lost_events,
            row.outcome,
            row.problem,
        )
        for row in rows
    )
