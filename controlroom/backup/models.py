"""Backup tables: the shipped position per store, its segments, verifications."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, Float, Integer, String, UniqueConstraint
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
