"""What the Broadcasts screen does, each action one transaction as one user."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from controlroom.auth.models import Role
from controlroom.broadcasts.board import (
    BroadcastDelivery,
    FlaggedMessage,
    flagged_messages,
    recent_broadcasts,
    state_counts,
    unmatched_receipts,
    waiting_for_app,
)
from controlroom.broadcasts.composer import (
    BroadcastDraft,
    ChannelPreview,
    compose_texts,
    driver_app_down,
    preview,
    send_broadcast,
)
from controlroom.broadcasts.models import MessageChannel, MessageState
from controlroom.broadcasts.outbox import retry_message
from controlroom.broadcasts.template_store import all_templates, edit_template
from controlroom.clock import operating_now
from controlroom.config import Settings
from controlroom.db import read_only
from controlroom.dispatch.models import Driver
from controlroom.session_frame import SignedInUser, require_role
from controlroom.words import counted

logger = logging.getLogger(__name__)

BROADCASTERS = frozenset({Role.MANAGEMENT, Role.OPS})
TEMPLATE_EDITORS = frozenset({Role.MANAGEMENT})


@dataclass(frozen=True)
class TemplateLine:
    """A stored template as the editor shows it."""

    purpose: str
    channel: MessageChannel
    body: str
    updated_at: datetime
    updated_by: str


@dataclass(frozen=True)
class OpenIncident:
    """An open incident a broadcast can belong to."""

    incident_id: int
    title: str
    status: str


@dataclass(frozen=True)
class UnmatchedLine:
    """A receipt no message could be named for."""

    message_id: str
    stat: str
    reason: str
    received_at: datetime


@dataclass(frozen=True)
class BroadcastBoard:
    """Everything the Broadcasts screen shows, read in one transaction."""

    now: datetime
    incidents: tuple[OpenIncident, ...]
    areas: tuple[str, ...]
    templates: tuple[TemplateLine, ...]
    deliveries: tuple[BroadcastDelivery, ...]
    flagged: tuple[FlaggedMessage, ...]
    unmatched: tuple[UnmatchedLine, ...]
    counts: Mapping[tuple[MessageChannel, MessageState], int]
    app_down: tuple[str, ...]
    waiting_for_app: int


def load_board(engine: Engine) -> BroadcastBoard:
    """Read the screen's data: incidents, templates, deliveries, problems."""
    # Not read-only: the first read stores the default templates.
    with Session(engine) as session, session.begin():
        now = operating_now(session)
        templates = tuple(
            TemplateLine(t.purpose, t.channel, t.body, t.updated_at, t.updated_by)
            for t in all_templates(session, at=now)
        )
    with Session(read_only(engine)) as session, session.begin():
        areas = sorted(
            {a for a in session.scalars(select(Driver.area)) if a and a.strip()}
        )
        return BroadcastBoard(
            now=now,
            incidents=_open_incidents(session),
            areas=tuple(areas),
            templates=templates,
            deliveries=tuple(recent_broadcasts(session)),
            flagged=tuple(flagged_messages(session)),
            unmatched=tuple(
                UnmatchedLine(r.message_id, r.stat, r.reason, r.received_at)
                for r in unmatched_receipts(session)
            ),
            counts=state_counts(session),
            app_down=tuple(driver_app_down(session)),
            waiting_for_app=waiting_for_app(session),
        )


def draft_texts(
    engine: Engine,
    *,
    purpose: str,
    channels: Sequence[MessageChannel],
    values: Mapping[str, object],
) -> dict[MessageChannel, str]:
    """Render the stored templates for the composer to start from."""
    with Session(engine) as session, session.begin():
        return compose_texts(
            session,
            purpose=purpose,
            channels=channels,
            values=values,
            at=operating_now(session),
        )


def preview_draft(
    engine: Engine, *, draft: BroadcastDraft, settings: Settings
) -> list[ChannelPreview]:
    """Each channel's text for a sample recipient, SMS with encoding and cost."""
    with Session(read_only(engine)) as session, session.begin():
        return preview(
            session,
            draft,
            price_per_segment=settings.sms_price_per_segment,
            max_segments=settings.sms_max_segments,
        )


def send(
    engine: Engine, *, user: SignedInUser, draft: BroadcastDraft, settings: Settings
) -> str:
    """Send a broadcast as ``user``; say how many messages were queued."""
    require_role(user, BROADCASTERS, "send a broadcast")
    with Session(engine) as session, session.begin():
        broadcast = send_broadcast(
            session,
            draft,
            at=operating_now(session),
            actor=user.username,
            max_segments=settings.sms_max_segments,
        )
        delivery = recent_broadcasts(session, limit=1)[0]
        total = sum(sum(c.values()) for c in delivery.counts.values())
        broadcast_id = broadcast.id
    logger.info("broadcast sent broadcast=%s actor=%s", broadcast_id, user.username)
    return (
        f"Broadcast {broadcast_id} to {draft.audience.describe()}: "
        f"{counted(total, 'message')} in the outbox."
    )


def save_template(
    engine: Engine,
    *,
    user: SignedInUser,
    purpose: str,
    channel: MessageChannel,
    body: str,
) -> str:
    """Store a manager's edit of a template."""
    require_role(user, TEMPLATE_EDITORS, "edit message templates")
    with Session(engine) as session, session.begin():
        edit_template(
            session,
            purpose=purpose,
            channel=channel,
            body=body,
            at=operating_now(session),
            actor=user.username,
        )
    return f"Saved the {channel.value} template of {purpose.replace('_', ' ')}."


def retry(engine: Engine, *, user: SignedInUser, message_id: int) -> str:
    """Queue a failed message again as ``user``."""
    require_role(user, BROADCASTERS, "send a failed message again")
    with Session(engine) as session, session.begin():
        retry_message(
            session,
            message_id=message_id,
            at=operating_now(session),
            actor=user.username,
        )
    return f"Message {message_id} is queued again for the next outbox round."


def _open_incidents(session: Session) -> tuple[OpenIncident, ...]:
    from controlroom.incidents.service import open_incidents

    return tuple(
        OpenIncident(i.id, i.title, i.status.value) for i in open_incidents(session)
    )
