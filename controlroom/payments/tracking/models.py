"""What the payment tracker keeps: the chain it followed and how nodes fared."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, CheckConstraint, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from controlroom.db import Base, UTCDateTime

PROGRESS_ROW = 1


class TrackedBlock(Base):
    """A block the tracker processed; ``active`` is false once a reorg orphans it.

    Keeping the hash of every processed height is what lets the tracker
    notice a reorganisation: a new block whose parent is not the stored
    block one height below.
    """

    __tablename__ = "tracked_blocks"

    id: Mapped[int] = mapped_column(primary_key=True)
    height: Mapped[int] = mapped_column(Integer)
    block_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prev_hash: Mapped[str] = mapped_column(String(64))
    time: Mapped[datetime] = mapped_column(UTCDateTime)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    node_key: Mapped[str] = mapped_column(String(48))
    processed_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (Index("ix_tracked_blocks_height_active", "height", "active"),)


class NodeCheck(Base):
    """One health check of a payment node: its tip, speed and whether we trust it."""

    __tablename__ = "payment_node_checks"

    id: Mapped[int] = mapped_column(primary_key=True)
    node_key: Mapped[str] = mapped_column(String(48))
    region: Mapped[str] = mapped_column(String(32))
    provider: Mapped[str] = mapped_column(String(32))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    height: Mapped[int | None] = mapped_column(Integer)
    block_hash: Mapped[str | None] = mapped_column(String(64))
    headers: Mapped[int | None] = mapped_column(Integer)
    response_ms: Mapped[int | None] = mapped_column(Integer)
    trusted: Mapped[bool] = mapped_column(Boolean)
    reason: Mapped[str] = mapped_column(String(240), default="")

    __table_args__ = (
        Index("ix_payment_node_checks_at", "at"),
        Index("ix_payment_node_checks_node_at", "node_key", "at"),
    )


class TrackerProgress(Base):
    """The single row saying how far the tracker got, and on which node."""

    __tablename__ = "payment_tracker_progress"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    height: Mapped[int] = mapped_column(Integer)
    block_hash: Mapped[str] = mapped_column(String(64))
    node_key: Mapped[str | None] = mapped_column(String(48))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (
        CheckConstraint("id = 1", name="ck_payment_tracker_progress_single_row"),
    )


class TrackerFailover(Base):
    """The tracker left one node for another (or for none), and why."""

    __tablename__ = "payment_tracker_failovers"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    from_node: Mapped[str | None] = mapped_column(String(48))
    to_node: Mapped[str | None] = mapped_column(String(48))
    reason: Mapped[str] = mapped_column(String(240))

    __table_args__ = (Index("ix_payment_tracker_failovers_at", "at"),)
