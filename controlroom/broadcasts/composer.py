"""Composing a broadcast: texts from templates, a preview, and sending it.

Sending creates the broadcast and exactly one message per recipient per
channel. The broadcast is found again by its ``update_key`` (chosen when
the composer opened), so a double click or a retry after an error queues
nothing twice. Driver-app messages go to the app feed at once while the
app is up; a status-site text becomes a public progress report of the
broadcast's incident.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from controlroom.broadcasts.audiences import Audience, audience_parties
from controlroom.broadcasts.models import (
    Broadcast,
    Message,
    MessageChannel,
    MessageState,
)
from controlroom.broadcasts.service import NO_PARTY, queue_message
from controlroom.broadcasts.template_store import render_template
from controlroom.broadcasts.templates import purpose_of
from controlroom.dispatch.models import Driver
from controlroom.errors import BroadcastError
from controlroom.health.models import Component, ComponentKind
from controlroom.journal import append_event
from controlroom.messaging.segments import (
    MAX_SEGMENTS,
    GsmOffer,
    SmsPlan,
    offer_gsm,
    plan_sms,
    sms_cost,
)
from controlroom.orders.models import Party

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class BroadcastDraft:
    """What a manager is about to send: to whom, how, and the text per channel."""

    update_key: str
    purpose: str
    audience: Audience
    texts: Mapping[MessageChannel, str]
    incident_id: int | None = None

    @property
    def channels(self) -> tuple[MessageChannel, ...]:
        """The chosen channels, in the order the purpose lists them."""
        order = purpose_of(self.purpose).channels
        return tuple(channel for channel in order if channel in self.texts)


@dataclass(frozen=True)
class ChannelPreview:
    """One channel's text as a sample recipient reads it, and its SMS cost."""

    channel: MessageChannel
    text: str
    recipients: int
    sample: str
    sms: SmsPlan | None = None
    cost: int | None = None
    gsm_offer: GsmOffer | None = None


def compose_texts(
    session: Session,
    *,
    purpose: str,
    channels: Sequence[MessageChannel],
    values: Mapping[str, object],
    at: datetime,
) -> dict[MessageChannel, str]:
    """Render the purpose's stored template for each chosen channel."""
    known = purpose_of(purpose)
    given = dict(values)
    for name in known.placeholders:
        given.setdefault(name, "")
    return {
        channel: render_template(
            session, purpose=purpose, channel=channel, values=given, at=at
        )
        for channel in channels
    }


def preview(
    session: Session,
    draft: BroadcastDraft,
    *,
    price_per_segment: int,
    max_segments: int = MAX_SEGMENTS,
) -> list[ChannelPreview]:
    """Show each channel's text for a sample recipient, SMS with its cost.

    Raises
    ------
    BroadcastError
        A channel the purpose or audience cannot use, or no incident for
        the status site.
    SmsTooLong
        The SMS text needs more than ``max_segments`` segments.
    """
    _check(draft)
    parties = audience_parties(session, draft.audience)
    sample = _sample_name(session, parties)

    shown = []
    for channel in draft.channels:
        text = draft.texts[channel]
        if channel is MessageChannel.STATUS_SITE:
            shown.append(ChannelPreview(channel, text, 1, "the public status page"))
            continue
        if channel is not MessageChannel.SMS:
            shown.append(ChannelPreview(channel, text, len(parties), sample))
            continue
        plan = plan_sms(text, max_segments=max_segments)
        shown.append(
            ChannelPreview(
                channel,
                text,
                len(parties),
                sample,
                sms=plan,
                cost=sms_cost(plan, price_per_segment, recipients=len(parties)),
                gsm_offer=offer_gsm(text),
            )
        )
    return shown


def send_broadcast(
    session: Session,
    draft: BroadcastDraft,
    *,
    at: datetime,
    actor: str,
    max_segments: int = MAX_SEGMENTS,
) -> Broadcast:
    """Record the broadcast and queue one message per recipient per channel."""
    _check(draft)
    for channel, text in draft.texts.items():
        if channel is MessageChannel.SMS:
            plan_sms(text, max_segments=max_segments)
        elif not text.strip():
            raise BroadcastError(f"The {channel.value} text is empty.")

    broadcast = session.scalar(
        select(Broadcast).where(Broadcast.update_key == draft.update_key)
    )
    if broadcast is None:
        broadcast = Broadcast(
            update_key=draft.update_key,
            incident_id=draft.incident_id,
            purpose=draft.purpose,
            audience=draft.audience.kind.value,
            audience_detail=draft.audience.detail(),
            texts={c.value: t for c, t in draft.texts.items()},
            created_at=at,
            created_by=actor,
        )
        session.add(broadcast)
        session.flush()

    parties = audience_parties(session, draft.audience)
    queued = 0
    for channel in draft.channels:
        recipients = [NO_PARTY] if channel is MessageChannel.STATUS_SITE else parties
        for party in recipients:
            party_id = party if isinstance(party, int) else party.id
            message = queue_message(
                session,
                update_key=broadcast.subject,
                party_id=party_id,
                channel=channel,
                body=broadcast.texts[channel.value],
                at=at,
                broadcast_id=broadcast.id,
            )
            if message is None:
                continue
            queued += 1
            if channel is MessageChannel.STATUS_SITE:
                _publish_on_status_site(session, broadcast, message, at, actor)

    if queued:
        append_event(
            session,
            kind="BroadcastSent",
            subject=broadcast.subject,
            actor=actor,
            occurred_at=at,
            payload={
                "incident": broadcast.incident_id,
                "purpose": broadcast.purpose,
                "audience": draft.audience.describe(),
                "channels": [c.value for c in draft.channels],
                "messages": queued,
            },
        )
    deliver_app_feed(session, at=at)
    return broadcast


def driver_app_down(session: Session) -> list[str]:
    """Name the driver-app components that are down now (empty: it is up)."""
    query = select(Component).where(Component.kind == ComponentKind.DRIVER_APP)
    return [c.name for c in session.scalars(query) if c.state.is_down]


def deliver_app_feed(session: Session, *, at: datetime) -> int:
    """Put queued app messages in the drivers' feed while the app is up.

    The feed is read by the app itself, so a message in it while the app
    is operational counts as delivered. While the app is down they stay
    queued, and the screen says so: those drivers need an SMS.
    """
    if driver_app_down(session):
        return 0
    query = select(Message).where(
        Message.channel == MessageChannel.APP,
        Message.state == MessageState.QUEUED,
    )
    waiting = list(session.scalars(query))
    for message in waiting:
        message.state = MessageState.DELIVERED
        message.attempts += 1
        message.sent_at = message.finished_at = at
    if waiting:
        append_event(
            session,
            kind="AppFeedDelivered",
            subject="app_feed",
            actor="outbox",
            occurred_at=at,
            payload={"messages": [m.id for m in waiting]},
        )
    return len(waiting)


def _check(draft: BroadcastDraft) -> None:
    purpose = purpose_of(draft.purpose)
    if not draft.texts:
        raise BroadcastError("Choose at least one channel to send on.")
    for channel in draft.texts:
        if channel not in purpose.channels:
            raise BroadcastError(
                f"{purpose.label} is not sent by {channel.value}; choose "
                f"{' or '.join(c.value for c in purpose.channels)}."
            )
    if MessageChannel.APP in draft.texts and not draft.audience.kind.is_drivers:
        raise BroadcastError(
            "Customers have no driver app; send to them by SMS or the status site."
        )
    if MessageChannel.STATUS_SITE in draft.texts and draft.incident_id is None:
        raise BroadcastError(
            "The status site shows incident updates: choose the incident this "
            "update belongs to."
        )


def _sample_name(session: Session, parties: Sequence[Party]) -> str:
    if not parties:
        return "nobody: the audience is empty"
    first = parties[0]
    driver = session.scalar(select(Driver).where(Driver.party_id == first.id))
    # A sample is named by call sign or city, never by a customer's name:
    # the preview is on a shared screen.
    who = f"driver {driver.callsign}" if driver else f"a customer in {first.city}"
    return f"{who} (1 of {len(parties)})"


def _publish_on_status_site(
    session: Session, broadcast: Broadcast, message: Message, at: datetime, actor: str
) -> None:
    # Imported here: incidents build on broadcasts' tables being there, not
    # the other way round, and this is the only place the two meet.
    from controlroom.incidents.models import Incident
    from controlroom.incidents.service import record_progress_report

    incident = session.get(Incident, broadcast.incident_id)
    if incident is None:
        raise BroadcastError(
            f"There is no incident {broadcast.incident_id} to publish the update on."
        )
    record_progress_report(
        session, incident=incident, text=message.body, at=at, actor=actor, public=True
    )
    message.state = MessageState.DELIVERED
    message.attempts = 1
    message.sent_at = message.finished_at = at
