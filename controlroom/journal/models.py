"""Journal tables: the events and the single head row."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from controlroom.db import Base, UTCDateTime


class JournalEvent(Base):
    """One state change; rows are only ever inserted."""

    __tablename__ = "journal_events"

    seq: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"),
        primary_key=True,
        autoincrement=False,
    )
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime)
    kind: Mapped[str] = mapped_column(String(64))
    subject: Mapped[str] = mapped_column(String(96))
    actor: Mapped[str] = mapped_column(String(64))
    payload: Mapped[str] = mapped_column(Text)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))

    __table_args__ = (
        Index("ix_journal_events_subject", "subject"),
        Index("ix_journal_events_kind_occurred", "kind", "occurred_at"),
    )


class JournalHead(Base):
    """The newest event's sequence number and hash, kept in one row.

    Appends lock and update this row, which serialises writers on PostgreSQL
    and gives verification an anchor to notice a cut-off tail.
    """

    __tablename__ = "journal_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger)
    hash: Mapped[str] = mapped_column(String(64))
