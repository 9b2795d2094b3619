"""The merge log: each run that brought spooled orders into the primary.

The spooled orders themselves never live here: they are in the spool's own
folder (:mod:`controlroom.fallback_orders.spool`) until a merge turns each
into a parcel under its idempotency key.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from controlroom.db import Base, UTCDateTime
from controlroom.orders.models import enum_column


class MergeOutcome(StrEnum):
    """How a merge run ended, or that it has not (yet)."""

    RUNNING = "running"  # or interrupted: a crash leaves it so
    COMPLETE = "complete"
    STOPPED_AT_PROBLEM = "stopped_at_problem"  # the spool's chain broke


class MergeRun(Base):
    """One merge of a spool into the primary, updated batch by batch."""

    __tablename__ = "fallback_merges"

    id: Mapped[int] = mapped_column(primary_key=True)
    spool_id: Mapped[str] = mapped_column(String(64))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    started_by: Mapped[str] = mapped_column(String(64))
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    outcome: Mapped[MergeOutcome] = mapped_column(
        enum_column(MergeOutcome), default=MergeOutcome.RUNNING
    )
    # The last spool record this run has dealt with, and its hash.
    through_seq: Mapped[int] = mapped_column(Integer, default=0)
    through_hash: Mapped[str] = mapped_column(String(64), default="")
    merged: Mapped[int] = mapped_column(Integer, default=0)
    already_present: Mapped[int] = mapped_column(Integer, default=0)
    problem: Mapped[str | None] = mapped_column(String(400))

    __table_args__ = (Index("ix_fallback_merges_started_at", "started_at"),)

    @property
    def subject(self) -> str:
        """The journal subject of this run."""
        return f"fallback_merge:{self.id}"
