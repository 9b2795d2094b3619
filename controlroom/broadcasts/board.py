"""What the Broadcasts screen and ``controlroom messages status`` show."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from controlroom.broadcasts.models import (
    Broadcast,
    Message,
    MessageChannel,
    MessageState,
    UnmatchedReceipt,
)
from controlroom.dispatch.models import Driver
from controlroom.orders.models import Party, PartyKind


@dataclass(frozen=True)
class BroadcastDelivery:
    """One broadcast and its messages' states, counted per channel."""

    broadcast_id: int
    created_at: datetime
    created_by: str
    purpose: str
    audience: str
    counts: dict[MessageChannel, Counter[MessageState]]


@dataclass(frozen=True)
class FlaggedMessage:
    """A message that failed and needs a person, with why and whom (by role)."""

    message_id: int
    update_key: str
    channel: MessageChannel
    attempts: int
    reason: str
    finished_at: datetime | None
    recipient: str


def state_counts(session: Session) -> dict[tuple[MessageChannel, MessageState], int]:
    """Count every message by channel and state."""
    query = select(Message.channel, Message.state, func.count()).group_by(
        Message.channel, Message.state
    )
    return {(channel, state): n for channel, state, n in session.execute(query)}


def recent_broadcasts(session: Session, *, limit: int = 20) -> list[BroadcastDelivery]:
    """The latest broadcasts, newest first, with their delivery counts."""
    broadcasts = session.scalars(
        select(Broadcast).order_by(Broadcast.id.desc()).limit(limit)
    ).all()
    ids = [b.id for b in broadcasts]
    counts: dict[int, dict[MessageChannel, Counter[MessageState]]] = {
        b.id: {} for b in broadcasts
    }
    query = (
        select(Message.broadcast_id, Message.channel, Message.state, func.count())
        .where(Message.broadcast_id.in_(ids))
        .group_by(Message.broadcast_id, Message.channel, Message.state)
    )
    for broadcast_id, channel, state, n in session.execute(query):
        assert broadcast_id is not None  # the query selects broadcasts' own
        counts[broadcast_id].setdefault(channel, Counter())[state] = n
    return [
        BroadcastDelivery(
            b.id, b.created_at, b.created_by, b.purpose, b.audience, counts[b.id]
        )
        for b in broadcasts
    ]


def flagged_messages(session: Session, *, limit: int = 100) -> list[FlaggedMessage]:
    """Failed messages flagged for a person, newest first.

    The recipient is described by role, never by name or number: the
    screen is shared.
    """
    query = (
        select(Message)
        .where(Message.flagged.is_(True), Message.state == MessageState.FAILED)
        .order_by(Message.finished_at.desc(), Message.id.desc())
        .limit(limit)
    )
    return [
        FlaggedMessage(
            m.id,
            m.update_key,
            m.channel,
            m.attempts,
            m.last_error,
            m.finished_at,
            _recipient_words(session, m.party_id),
        )
        for m in session.scalars(query)
    ]


def _recipient_words(session: Session, party_id: int | None) -> str:
    """A driver by call sign, a customer by the last digits of the number."""
    party = session.get(Party, party_id) if party_id else None
    if party is None:
        return "a number not on record"
    if party.kind is PartyKind.DRIVER:
        callsign = session.scalar(
            select(Driver.callsign).where(Driver.party_id == party.id)
        )
        return f"driver {callsign}" if callsign else "a driver"
    ending = "".join(c for c in party.phone if c.isdigit())[-3:]
    return f"a customer (phone ending {ending})" if ending else "a customer"


def unmatched_receipts(session: Session, *, limit: int = 100) -> list[UnmatchedReceipt]:
    """Receipts no message could be named for, newest first (never counted)."""
    query = select(UnmatchedReceipt).order_by(UnmatchedReceipt.id.desc()).limit(limit)
    return list(session.scalars(query))


def waiting_for_app(session: Session) -> int:
    """How many driver-app messages wait in the outbox (the app is down)."""
    query = select(func.count()).where(
        Message.channel == MessageChannel.APP,
        Message.state == MessageState.QUEUED,
    )
    return session.scalar(query) or 0
