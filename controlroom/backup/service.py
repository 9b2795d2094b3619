"""Verifying a store against the database's record; snapshots shipped through."""

from __future__ import annotations

import logging
import time
from dataclasses import replace
from datetime import datetime

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from controlroom.backup.models import BackupPosition, BackupVerification
from controlroom.backup.pg_base import BaseBackupManifest, take_base_backup
from controlroom.backup.shipper import shipper_from_settings
from controlroom.backup.snapshots import SnapshotManifest, take_snapshot
from controlroom.backup.stores import BackupStore
from controlroom.backup.verify import BackupProblem, VerifyReport, verify_store
from controlroom.config import Settings
from controlroom.db import utcnow
from controlroom.journal import journal_head

logger = logging.getLogger(__name__)


def shipped_head(session: Session, *, location: str) -> tuple[int, str] | None:
    """The ``(seq, hash)`` the database recorded as shipped to ``location``."""
    position = session.scalar(
        select(BackupPosition).where(BackupPosition.location == location)
    )
    if position is None or position.shipped_seq == 0:
        return None
    return position.shipped_seq, position.shipped_hash


def record_verification(
    session: Session, *, report: VerifyReport, started_at: datetime, seconds: float
) -> BackupVerification:
    """Store one verification's outcome for the backup board."""
    problem = report.problem
    row = BackupVerification(
        location=report.location,
        started_at=started_at,
        seconds=seconds,
        ok=problem is None,
        segments=report.segments,
        events=report.events,
        head_hash=report.head[1],
        problem=str(problem.problem)[:500] if problem else "",
        problem_key=problem.key[:300] if problem else "",
        problem_seq=problem.seq if problem else None,
    )
    session.add(row)
    return row


def verify_and_record(
    engine: Engine | None,
    store: BackupStore,
    *,
    expected_head: tuple[int, str] | None = None,
) -> VerifyReport:
    """Verify ``store`` against a head it must reach, and record the outcome.

    The head is ``expected_head`` (kept elsewhere), else the one the
    database recorded as shipped to this store's location. Without either
    -- no database, or a copy of the store somewhere else -- the store is
    verified on its own, which cannot notice its newest segments deleted
    together with their manifests.
    """
    anchor = expected_head
    journal_seq = 0
    if engine is not None:
        with Session(engine) as session:
            if anchor is None:
                anchor = shipped_head(session, location=store.location)
            journal_seq, _ = journal_head(session)
    started_at, clock = utcnow(), time.perf_counter()
    report = verify_store(store, expected_head=anchor)
    if report.ok and report.segments == 0 and journal_seq > 0:
        # An empty store is intact only in the sense that nothing is wrong
        # with nothing: a mistyped or unmounted store must not pass.
        report = replace(
            report,
            problem=BackupProblem(
                key=store.location,
                seq=None,
                problem=(
                    f"holds no backup at all, while the journal is at event "
                    f"{journal_seq}; check the store's location, or ship to it "
                    "first (controlroom backup ship)"
                ),
            ),
        )
    seconds = time.perf_counter() - clock
    logger.info(
        "backup verified location=%s ok=%s events=%s seconds=%.2f",
        store.location,
        report.ok,
        report.events,
        seconds,
    )
    if engine is not None:
        with Session(engine) as session, session.begin():
            record_verification(
                session, report=report, started_at=started_at, seconds=seconds
            )
    return report


def snapshot_and_ship(
    engine: Engine, store: BackupStore, *, settings: Settings
) -> SnapshotManifest | BaseBackupManifest:
    """Take a snapshot into ``store``, then ship the journal through its head.

    On PostgreSQL the snapshot is a base backup (pg_basebackup, checked by
    pg_verifybackup). A restore checks a snapshot's journal head against the
    shipped segments, so the snapshot is followed by a shipping round.
    """
    manifest: SnapshotManifest | BaseBackupManifest
    if engine.dialect.name == "postgresql":
        manifest = take_base_backup(
            engine, store, settings=settings, created_at=utcnow()
        )
    else:
        manifest = take_snapshot(engine, store, created_at=utcnow())
    shipper_from_settings(engine, settings, store).ship_through(manifest.head_seq)
    return manifest
