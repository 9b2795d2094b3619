"""Broadcast tables: templates, broadcasts, messages and unmatched receipts.

Phone numbers are not copied here: a message names its recipient's Party
and the phone is read from ``parties`` when the message is sent. The one
exception is a reply to a number no Party holds (a driver's dedicated
phone, a stranger texting the SMS number): ``reply_phone`` keeps it until
the reply is final, then it is erased.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import (
    JSON,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column

from controlroom.db import Base, UTCDateTime
from controlroom.orders.models import enum_column


class MessageChannel(StrEnum):
    """Where a message is read: the driver app, a phone, the status site."""

    APP = "app"
    SMS = "sms"
    STATUS_SITE = "status_site"


class MessageState(StrEnum):
    """queued → sent → delivered | failed (a retry goes back to queued)."""

    QUEUED = "queued"
    SENT = "sent"
    DELIVERED = "delivered"
    FAILED = "failed"


class MessageTemplate(Base):
    """The text of one purpose on one channel, as a manager last edited it."""

    __tablename__ = "message_templates"

    id: Mapped[int] = mapped_column(primary_key=True)
    purpose: Mapped[str] = mapped_column(String(40))
    channel: Mapped[MessageChannel] = mapped_column(enum_column(MessageChannel))
    body: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_by: Mapped[str] = mapped_column(String(64))

    __table_args__ = (UniqueConstraint("purpose", "channel"),)


class Broadcast(Base):
    """One update a manager sent to an audience over chosen channels.

    ``audience`` is the audience kind and ``audience_detail`` its
    parameters (area, postcodes, package codes); ``texts`` holds the text
    sent per channel.
    """

    __tablename__ = "broadcasts"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Chosen when the composer opens: sending the same draft twice (a
    # double click, a retry after an error) finds this row again.
    update_key: Mapped[str] = mapped_column(String(80), unique=True)
    # No foreign key: incidents are another capability's table; the id is
    # journalled with the broadcast and read back through its service.
    incident_id: Mapped[int | None] = mapped_column(Integer)
    purpose: Mapped[str] = mapped_column(String(40))
    audience: Mapped[str] = mapped_column(String(40))
    audience_detail: Mapped[dict[str, object]] = mapped_column(JSON)
    texts: Mapped[dict[str, str]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by: Mapped[str] = mapped_column(String(64))

    @property
    def subject(self) -> str:
        """The journal subject of this broadcast."""
        return f"broadcast:{self.id}"


class Message(Base):
    """One text to one recipient over one channel, and what became of it.

    ``update_key`` names the update the message belongs to (a broadcast,
    a parcel notice, a manifest part, a reply); with the recipient and the
    channel it is unique, so a retried send never queues a second copy.
    ``segment_ids`` are every id the gateway gave, over all attempts, so a
    late receipt for an earlier attempt still matches; ``segment_states``
    holds the receipt stat per id of the current attempt.
    """

    __tablename__ = "messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    update_key: Mapped[str] = mapped_column(String(80))
    # 0 for a message to no Party (the status site, a reply to a number
    # no Party holds): NULL would not take part in the unique constraint.
    party_id: Mapped[int] = mapped_column(Integer, default=0)
    channel: Mapped[MessageChannel] = mapped_column(enum_column(MessageChannel))
    broadcast_id: Mapped[int | None] = mapped_column(ForeignKey("broadcasts.id"))
    body: Mapped[str] = mapped_column(Text)
    reply_phone: Mapped[str | None] = mapped_column(String(32))
    state: Mapped[MessageState] = mapped_column(
        enum_column(MessageState), default=MessageState.QUEUED
    )
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str] = mapped_column(String(300), default="")
    segment_ids: Mapped[list[str]] = mapped_column(JSON, default=list)
    segment_states: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    queued_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # Set before the gateway is called and committed first: a message found
    # queued with this set may have reached the gateway before a crash.
    sending_since: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    flagged: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default=false()
    )

    __table_args__ = (
        UniqueConstraint("update_key", "party_id", "channel"),
        Index("ix_messages_state_channel", "state", "channel"),
        Index("ix_messages_broadcast", "broadcast_id"),
    )

    @property
    def subject(self) -> str:
        """The journal subject of this message."""
        return f"message:{self.id}"


class UnmatchedReceipt(Base):
    """A delivery receipt no sent message could be named for: shown, not counted."""

    __tablename__ = "unmatched_receipts"

    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[str] = mapped_column(String(80))
    stat: Mapped[str] = mapped_column(String(24))
    reason: Mapped[str] = mapped_column(String(300))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)
