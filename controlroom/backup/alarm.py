"""The backup's lag, the alarm it calls for, and the component that shows it.

The alarm follows three rules, most serious first: a write the store
refused or failed raises it at once (an unnoticed refusal is how backups
silently stop); a store whose retention no longer holds raises it as well;
otherwise a lag past the threshold, counted from the oldest event not yet
shipped, raises it. A round that ships everything clears it.

On PostgreSQL the server's own WAL archiving (``archive_command``, see
:mod:`controlroom.backup.pg_wal`) fails where we cannot see it, so every
time the component is set, ``pg_stat_archiver`` is read too: a failed
archive newer than the last success raises the alarm as a refused write.
An archiver that never gets to run its command (the postgres user cannot
execute it: exit 126/127) counts no failure at all, so the alarm is also
raised when a completed segment has waited longer than
``max(2 × archive_timeout, backup_lag_alarm_seconds)`` with nothing archived.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from controlroom.backup.pg_wal import segment_name, segment_number
from controlroom.backup.stores import RetentionCheck
from controlroom.health.models import Component, ComponentKind, ComponentState
from controlroom.health.service import add_component, report_health
from controlroom.journal import JournalEvent, journal_head

ACTOR = "backup-shipper"
BACKUP_COMPONENT = "streaming-backup"
BACKUP_COMPONENT_NAME = "Streaming backup"
# Its own kind: the posture's "Backup alarm" rule reads it.
BACKUP_COMPONENT_KIND = ComponentKind.BACKUP
REFUSED_STATE = ComponentState.MAJOR_OUTAGE
LAGGING_STATE = ComponentState.PARTIAL_OUTAGE
# Settings.backup_lag_alarm_seconds' default, for callers without settings.
DEFAULT_LAG_ALARM_SECONDS = 10.0


@dataclass(frozen=True)
class BackupLag:
    """How far the store is behind the journal's head."""

    events: int
    seconds: float


def measure_lag(session: Session, *, shipped_seq: int, at: datetime) -> BackupLag:
    """Events not yet shipped, and the age of the oldest of them."""
    head_seq, _ = journal_head(session)
    if head_seq <= shipped_seq:
        return BackupLag(0, 0.0)
    oldest = session.scalar(
        select(JournalEvent.recorded_at).where(JournalEvent.seq == shipped_seq + 1)
    )
    seconds = (at - oldest).total_seconds() if oldest is not None else 0.0
    return BackupLag(head_seq - shipped_seq, max(0.0, seconds))


def decide_alarm(
    *,
    lag: BackupLag,
    error: str,
    retention: RetentionCheck | None,
    lag_alarm_seconds: float,
) -> tuple[str, ComponentState]:
    """The alarm's words and the backup component's state; no alarm is ''."""
    if error:
        return f"Backup store refused a write: {error}", REFUSED_STATE
    if retention is not None and not retention.ok:
        problems = "; ".join(retention.problems)
        return f"Backup store retention is not safe: {problems}", REFUSED_STATE
    if lag.seconds > lag_alarm_seconds:
        return (
            f"Backup is more than {lag_alarm_seconds:g} s behind the journal",
            LAGGING_STATE,
        )
    return "", ComponentState.OPERATIONAL


@dataclass(frozen=True)
class ArchiverStatus:
    """PostgreSQL's WAL archiver, as ``pg_stat_archiver`` tells it."""

    archive_mode: str
    archived_count: int
    last_archived_wal: str
    last_archived_at: datetime | None
    failed_count: int
    last_failed_wal: str
    last_failed_at: datetime | None
    current_wal: str = ""  # '' on a server in recovery
    read_at: datetime | None = None
    started_at: datetime | None = None
    archive_timeout_seconds: float = 0.0
    lag_alarm_seconds: float = DEFAULT_LAG_ALARM_SECONDS

    @property
    def stuck_after_seconds(self) -> float:
        """How long a completed segment may wait before the archive is stuck."""
        return max(2 * self.archive_timeout_seconds, self.lag_alarm_seconds)

    @property
    def stuck_wal(self) -> str:
        """The oldest completed segment the archiver has sat on too long; or ''.

        Only segments before the one being written are complete; the
        server archives them in order, so the first after the last
        archived one is the oldest waiting.
        """
        if self.archive_mode == "off" or not self.current_wal:
            return ""
        timeline, current = segment_number(self.current_wal)
        if self.last_archived_wal:
            waiting = segment_number(self.last_archived_wal)[1] + 1
            since = self.last_archived_at
        else:
            waiting, since = 1, self.started_at  # initdb's first segment
        if waiting >= current or since is None or self.read_at is None:
            return ""
        if self.read_at - since <= timedelta(seconds=self.stuck_after_seconds):
            return ""
        return segment_name(timeline, waiting)

    @property
    def failing(self) -> bool:
        """Whether the newest attempt to archive failed."""
        if self.last_failed_at is None:
            return False
        return self.last_archived_at is None or (
            self.last_failed_at > self.last_archived_at
        )


_ARCHIVER = text(
    "SELECT current_setting('archive_mode') AS archive_mode, archived_count, "
    "last_archived_wal, last_archived_time, failed_count, last_failed_wal, "
    "last_failed_time, CASE WHEN pg_is_in_recovery() THEN NULL "
    "ELSE pg_walfile_name(pg_current_wal_lsn()) END AS current_wal, "
    "extract(epoch FROM current_setting('archive_timeout')::interval) "
    "AS archive_timeout, clock_timestamp() AS read_at, "
    "pg_postmaster_start_time() AS started_at FROM pg_stat_archiver"
)


def read_archiver(
    session: Session, *, lag_alarm_seconds: float = DEFAULT_LAG_ALARM_SECONDS
) -> ArchiverStatus | None:
    """The WAL archiver's state on PostgreSQL; None on SQLite."""
    if session.get_bind().dialect.name != "postgresql":
        return None
    row = session.execute(_ARCHIVER).one()
    return ArchiverStatus(
        archive_mode=str(row.archive_mode),
        archived_count=int(row.archived_count),
        last_archived_wal=row.last_archived_wal or "",
        last_archived_at=row.last_archived_time,
        failed_count=int(row.failed_count),
        last_failed_wal=row.last_failed_wal or "",
        last_failed_at=row.last_failed_time,
        current_wal=row.current_wal or "",
        read_at=row.read_at,
        started_at=row.started_at,
        archive_timeout_seconds=float(row.archive_timeout),
        lag_alarm_seconds=lag_alarm_seconds,
    )


def archive_alarm(status: ArchiverStatus | None) -> str:
    """The alarm's words for a failing WAL archive; '' when it is fine."""
    if status is None or status.archive_mode == "off":
        return ""
    if not status.failing:
        return stuck_alarm(status)
    assert status.last_failed_at is not None  # failing says so
    return (
        f"WAL archiving is failing: {status.last_failed_wal} was refused at "
        f"{status.last_failed_at:%H:%M:%S} UTC ({status.failed_count} failure(s)); "
        f"last archived {status.last_archived_wal or 'nothing yet'}"
    )


def stuck_alarm(status: ArchiverStatus) -> str:
    """The alarm's words for an archiver that stores nothing and counts no failure."""
    waiting = status.stuck_wal
    if not waiting:
        return ""
    return (
        f"WAL archiving is stuck: {waiting} is complete but not archived after "
        f"{status.stuck_after_seconds:g} s, and the archiver counts no failure "
        "(can the postgres user run archive_command?); last archived "
        f"{status.last_archived_wal or 'nothing yet'}"
    )


def clip(text: str) -> str:
    """Shorten a message to fit a component's note."""
    return text if len(text) <= 240 else text[:239] + "…"


def set_backup_component(
    session: Session,
    *,
    state: ComponentState,
    note: str,
    at: datetime,
    lag_alarm_seconds: float = DEFAULT_LAG_ALARM_SECONDS,
) -> None:
    """Move the backup component to ``state``; journalled when it changes.

    The component is registered on first use. A state a person declared
    (held) stays, as for every component. On PostgreSQL a failing WAL
    archive, or one stuck with no failure counted, raises the alarm whatever
    the journal's shipping says.
    """
    status = read_archiver(session, lag_alarm_seconds=lag_alarm_seconds)
    archive = archive_alarm(status)
    if archive:
        note = f"{note}; {archive}" if note and state is REFUSED_STATE else archive
        state = REFUSED_STATE
    component = session.scalar(
        select(Component).where(Component.key == BACKUP_COMPONENT)
    )
    if component is None:
        component = add_component(
            session,
            key=BACKUP_COMPONENT,
            name=BACKUP_COMPONENT_NAME,
            kind=BACKUP_COMPONENT_KIND,
            at=at,
            actor=ACTOR,
            provider="backup",
        )
    if component.state is state:
        return
    report_health(
        session,
        component=component,
        state=state,
        at=at,
        actor=ACTOR,
        detail=clip(note),
    )
