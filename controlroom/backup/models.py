"""Backup tables: shipped position per store, segments, verifications, drills."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    Float,
    Index,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from controlroom.db import Base, UTCDateTime

_SEQ = BigInteger().with_variant(Integer, "sqlite")


class BackupPosition(Base):
    """How far the journal has reached one store, and how that store is doing."""

    __tablename__ = "backup_positions"

    id: Mapped[int] = mapped_column(primary_key=True)
    location: Mapped[str] = mapped_column(String(300), unique=True)
    kind: Mapped[str] = mapped_column(String(16))
    shipped_seq: Mapped[int] = mapped_column(_SEQ, default=0)
    shipped_hash: Mapped[str] = mapped_column(String(64))
    manifest_digest: Mapped[str] = mapped_column(String(64))
    shipped_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Set at the first failed write, cleared by the next good one.
    failing_since: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str] = mapped_column(String(500), default="")
    lag_events: Mapped[int] = mapped_column(_SEQ, default=0)
    lag_seconds: Mapped[float] = mapped_column(Float, default=0.0)
    retention_checked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    retention_ok: Mapped[bool | None] = mapped_column(Boolean)
    retention_detail: Mapped[str] = mapped_column(String(500), default="")


class BackupShipment(Base):
    """One sealed segment that reached a store."""

    __tablename__ = "backup_shipments"

    id: Mapped[int] = mapped_column(primary_key=True)
    location: Mapped[str] = mapped_column(String(300))
    first_seq: Mapped[int] = mapped_column(_SEQ)
    last_seq: Mapped[int] = mapped_column(_SEQ)
    head_hash: Mapped[str] = mapped_column(String(64))
    manifest_digest: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(Integer)
    shipped_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (
        UniqueConstraint("location", "first_seq", name="uq_backup_shipments_first"),
    )


class BackupVerification(Base):
    """One run of ``controlroom backup verify`` and what it found."""

    __tablename__ = "backup_verifications"

    id: Mapped[int] = mapped_column(primary_key=True)
    location: Mapped[str] = mapped_column(String(300))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    seconds: Mapped[float] = mapped_column(Float)
    ok: Mapped[bool] = mapped_column(Boolean)
    segments: Mapped[int] = mapped_column(Integer)
    events: Mapped[int] = mapped_column(_SEQ)
    head_hash: Mapped[str] = mapped_column(String(64))
    problem: Mapped[str] = mapped_column(String(500), default="")
    problem_key: Mapped[str] = mapped_column(String(300), default="")
    problem_seq: Mapped[int | None] = mapped_column(_SEQ)


class BackupDrill(Base):
    """One restore drill: how long it took, from what, and what was lost.

    ``lost_events`` is the journal head recorded as shipped minus the head
    the restore reached: events the write-once store should have held and
    did not. Events the primary held beyond the shipped head were never
    promised (the streaming backup's window); ``head_primary_seq`` keeps
    them visible.
    """

    __tablename__ = "backup_drills"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime] = mapped_column(UTCDateTime)
    seconds: Mapped[float] = mapped_column(Float)
    location: Mapped[str] = mapped_column(String(300))
    target: Mapped[str] = mapped_column(String(300))
    snapshot_key: Mapped[str] = mapped_column(String(200), default="")
    events_appended: Mapped[int] = mapped_column(_SEQ, default=0)
    events_reapplied: Mapped[int] = mapped_column(_SEQ, default=0)
    head_primary_seq: Mapped[int] = mapped_column(_SEQ, default=0)
    head_shipped_seq: Mapped[int] = mapped_column(_SEQ, default=0)
    head_restored_seq: Mapped[int] = mapped_column(_SEQ, default=0)
    head_restored_hash: Mapped[str] = mapped_column(String(64), default="")
    lost_events: Mapped[int] = mapped_column(_SEQ, default=0)
    outcome: Mapped[str] = mapped_column(String(16))
    problem: Mapped[str] = mapped_column(String(500), default="")
    started_by: Mapped[str] = mapped_column(String(64))

    __table_args__ = (Index("ix_backup_drills_started_at", "started_at"),)
