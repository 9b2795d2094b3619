"""The templates in the database: loaded from the defaults once, then edited."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from controlroom.broadcasts.models import MessageChannel, MessageTemplate
from controlroom.broadcasts.templates import (
    check_template,
    load_defaults,
    purpose_of,
    render,
)
from controlroom.journal import append_event

logger = logging.getLogger(__name__)

DEFAULTS_ACTOR = "defaults"


def ensure_templates(session: Session, *, at: datetime) -> int:
    """Store the default text of every template not yet stored; return how many."""
    stored = {
        (row.purpose, row.channel) for row in session.scalars(select(MessageTemplate))
    }
    added = 0
    for (purpose, channel), body in load_defaults().items():
        if (purpose, channel) in stored:
            continue
        session.add(
            MessageTemplate(
                purpose=purpose,
                channel=channel,
                body=body,
                updated_at=at,
                updated_by=DEFAULTS_ACTOR,
            )
        )
        added += 1
    if added:
        session.flush()
        append_event(
            session,
            kind="MessageTemplatesLoaded",
            subject="templates",
            actor=DEFAULTS_ACTOR,
            occurred_at=at,
            payload={"count": added},
        )
    return added


def get_template(
    session: Session, *, purpose: str, channel: MessageChannel, at: datetime
) -> MessageTemplate:
    """Return the stored template, loading the defaults on first use."""
    purpose_of(purpose)
    query = select(MessageTemplate).where(
        MessageTemplate.purpose == purpose, MessageTemplate.channel == channel
    )
    template = session.scalar(query)
    if template is None:
        ensure_templates(session, at=at)
        template = session.scalar(query)
    if template is None:
        # load_defaults refuses a file missing any (purpose, channel), so
        # this is a channel the purpose does not use.
        check_template(purpose_of(purpose), channel, "-")
        raise AssertionError("unreachable: check_template refuses the channel")
    return template


def render_template(
    session: Session,
    *,
    purpose: str,
    channel: MessageChannel,
    values: Mapping[str, object],
    at: datetime,
) -> str:
    """Render the stored template of ``purpose`` on ``channel`` with ``values``."""
    template = get_template(session, purpose=purpose, channel=channel, at=at)
    return render(template.body, values)


def edit_template(
    session: Session,
    *,
    purpose: str,
    channel: MessageChannel,
    body: str,
    at: datetime,
    actor: str,
) -> MessageTemplate:
    """Replace a template's text after checking it; journal who and when."""
    check_template(purpose_of(purpose), channel, body)
    template = get_template(session, purpose=purpose, channel=channel, at=at)
    before = template.body
    if before == body:
        return template
    template.body = body
    template.updated_at = at
    template.updated_by = actor
    append_event(
        session,
        kind="MessageTemplateEdited",
        subject=f"template:{purpose}:{channel.value}",
        actor=actor,
        occurred_at=at,
        payload={"before": before, "after": body},
    )
    logger.info("template edited purpose=%s channel=%s", purpose, channel.value)
    return template


def all_templates(session: Session, *, at: datetime) -> list[MessageTemplate]:
    """Every template, defaults loaded first, by purpose and channel."""
    ensure_templates(session, at=at)
    query = select(MessageTemplate).order_by(
        MessageTemplate.purpose, MessageTemplate.channel
    )
    return list(session.scalars(query))
