"""The backup board: what the Backups screen shows, as plain data.

One read for the page: where the journal is shipped, how far it got, how
far behind it is now, whether the store still guards what it holds, the
last verification, the alarm the backup component carries, and the newest
restore drills. On PostgreSQL it also carries the server's WAL archiver
(``pg_stat_archiver``): the last archived and the last failed WAL file.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from controlroom.backup.alarm import (
    BACKUP_COMPONENT,
    ArchiverStatus,
    BackupLag,
    measure_lag,
    read_archiver,
)
from controlroom.backup.drills import DrillRow, recent_drills
from controlroom.backup.models import (
    BackupPosition,
    BackupShipment,
    BackupVerification,
)
from controlroom.backup.stores import store_location
from controlroom.config import Settings
from controlroom.db import utcnow
from controlroom.health.models import Component, ComponentState
from controlroom.journal import journal_head
from controlroom.session_frame import short_time

DRILLS_SHOWN = 10


@dataclass(frozen=True)
class Verification:
    """The outcome of one ``controlroom backup verify``."""

    at: datetime
    ok: bool
    seconds: float
    segments: int
    events: int
    problem: str
    problem_key: str
    problem_seq: int | None


@dataclass(frozen=True)
class Shipment:
    """One sealed segment that reached the store."""

    first_seq: int
    last_seq: int
    size: int
    shipped_at: datetime


@dataclass(frozen=True)
class RetentionStatus:
    """The store's last retention check (versioning, Object Lock, days)."""

    checked_at: datetime | None
    ok: bool | None
    detail: str
    configured_days: int


@dataclass(frozen=True)
class BackupBoard:
    """Everything the Backups screen shows about the streaming backup."""

    location: str
    store_kind: str
    head_seq: int
    shipped_seq: int
    shipped_at: datetime | None
    lag: BackupLag
    lag_alarm_seconds: float
    last_attempt_at: datetime | None
    failing_since: datetime | None
    last_error: str
    retention: RetentionStatus
    last_verification: Verification | None
    recent_shipments: tuple[Shipment, ...]
    component_state: ComponentState | None
    alarm: str
    drills: tuple[DrillRow, ...] = ()
    wal_archive: ArchiverStatus | None = None

    @property
    def shipping_started(self) -> bool:
        """Whether anything was ever shipped to this store."""
        return self.last_attempt_at is not None


def backup_board(
    engine: Engine, settings: Settings, *, at: datetime | None = None
) -> BackupBoard:
    """Read the backup board for the configured store."""
    location = store_location(settings)
    now = at or utcnow()
    with Session(engine) as session:
        position = session.scalar(
            select(BackupPosition).where(BackupPosition.location == location)
        )
        shipped = position.shipped_seq if position else 0
        lag = measure_lag(session, shipped_seq=shipped, at=now)
        verification = session.scalars(
            select(BackupVerification)
            .where(BackupVerification.location == location)
            .order_by(BackupVerification.started_at.desc())
            .limit(1)
        ).first()
        shipments = session.scalars(
            select(BackupShipment)
            .where(BackupShipment.location == location)
            .order_by(BackupShipment.last_seq.desc())
            .limit(20)
        ).all()
        component = session.scalar(
            select(Component).where(Component.key == BACKUP_COMPONENT)
        )
        head_seq, _ = journal_head(session)
        drills = recent_drills(session, limit=DRILLS_SHOWN)
        wal_archive = read_archiver(
            session, lag_alarm_seconds=settings.backup_lag_alarm_seconds
        )

    return BackupBoard(
        location=location,
        store_kind="s3" if location.startswith("s3://") else "local",
        head_seq=head_seq,
        shipped_seq=shipped,
        shipped_at=position.shipped_at if position else None,
        lag=lag,
        lag_alarm_seconds=settings.backup_lag_alarm_seconds,
        last_attempt_at=position.last_attempt_at if position else None,
        failing_since=position.failing_since if position else None,
        last_error=position.last_error if position else "",
        retention=RetentionStatus(
            position.retention_checked_at if position else None,
            position.retention_ok if position else None,
            position.retention_detail if position else "",
            settings.backup_retention_days,
        ),
        last_verification=_verification(verification),
        recent_shipments=tuple(
            Shipment(s.first_seq, s.last_seq, s.size, s.shipped_at) for s in shipments
        ),
        component_state=component.state if component else None,
        alarm=component.note if component and component.state.is_down else "",
        drills=drills,
        wal_archive=wal_archive,
    )


def _verification(row: BackupVerification | None) -> Verification | None:
    if row is None:
        return None
    return Verification(
        row.started_at,
        row.ok,
        row.seconds,
        row.segments,
        row.events,
        row.problem,
        row.problem_key,
        row.problem_seq,
    )


def archiver_summary(status: ArchiverStatus, zone: str) -> tuple[str, str]:
    """The WAL archiver in one sentence, with how loud to say it.

    The level is ``error`` (the newest archive attempt failed, or a
    completed segment waits too long with no failure counted), ``warning``
    (archiving is off, or nothing archived yet) or ``ok``.
    """
    if status.archive_mode == "off":
        return (
            "warning",
            "WAL archiving is off on this server: a restore can only reach the "
            "newest base backup. Run `controlroom backup wal-settings` for the "
            "lines to add to postgresql.conf.",
        )
    if status.failing:
        return (
            "error",
            f"WAL archiving is failing: {status.last_failed_wal} could not be "
            f"stored at {short_time(status.last_failed_at, zone)} "
            f"({status.failed_count:,} failure(s) since the server's statistics "
            "were reset). The server keeps the file until the store takes it.",
        )
    stuck = status.stuck_wal
    if stuck:
        return (
            "error",
            f"WAL archiving is stuck: {stuck} is complete but has not been "
            f"archived for over {status.stuck_after_seconds:g} s, and the server "
            "counts no failure. Check that the postgres user can run "
            "archive_command (exit 126/127 is not counted).",
        )
    if status.last_archived_at is None:
        return (
            "warning",
            "WAL archiving is on, but no WAL file has been archived yet.",
        )
    return (
        "ok",
        f"WAL archive: last file {status.last_archived_wal} at "
        f"{short_time(status.last_archived_at, zone)}; "
        f"{status.archived_count:,} archived, {status.failed_count:,} failed.",
    )
