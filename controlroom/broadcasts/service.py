"""Queueing messages: parcel notices, replies to drivers, SMS manifests.

Every message lands in the outbox (``messages``) as queued, once: the
update it belongs to, its recipient and its channel are unique together,
so calling a queue function again, or two callers racing, adds nothing.
The outbox (:mod:`controlroom.broadcasts.outbox`) sends it later.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime
from enum import StrEnum
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from controlroom.broadcasts.models import Message, MessageChannel, MessageState
from controlroom.broadcasts.template_store import render_template
from controlroom.dispatch.manifest import sms_manifest
from controlroom.dispatch.manifest_reading import driver_manifests
from controlroom.dispatch.models import Driver, Plan
from controlroom.errors import BroadcastError
from controlroom.journal import append_event
from controlroom.messaging.segments import plan_sms
from controlroom.orders.models import Parcel, Party, PartyKind

logger = logging.getLogger(__name__)

# The settings' default zone; callers that know the operator's zone pass it.
DEFAULT_ZONE = ZoneInfo("Europe/Oslo")
# A message to nobody in ``parties``: the status site, or a reply to a
# number no Party holds.
NO_PARTY = 0


class NoticeKind(StrEnum):
    """What happened to a parcel that its sender and recipient are told."""

    PICKED_UP = "picked_up"
    DELIVERED = "delivered"
    DELAYED = "delayed"

    @property
    def purpose(self) -> str:
        """The template purpose of this notice."""
        return f"parcel_{self.value}"


def queue_message(
    session: Session,
    *,
    update_key: str,
    party_id: int,
    channel: MessageChannel,
    body: str,
    at: datetime,
    broadcast_id: int | None = None,
    reply_phone: str | None = None,
) -> Message | None:
    """Queue one message unless this update already has one for the recipient.

    Returns the new message, or None when it was queued before.
    """
    existing = _existing(session, update_key, party_id, channel)
    if existing is not None:
        return None
    message = Message(
        update_key=update_key,
        party_id=party_id,
        channel=channel,
        broadcast_id=broadcast_id,
        body=body,
        reply_phone=reply_phone,
        state=MessageState.QUEUED,
        attempts=0,
        last_error="",
        segment_ids=[],
        segment_states={},
        queued_at=at,
        flagged=False,
    )
    # A savepoint, so that a concurrent transaction that queued the same
    # message first costs us only this insert, not the caller's work.
    try:
        with session.begin_nested():
            session.add(message)
            session.flush()
    except IntegrityError:
        logger.info("message already queued update=%s", update_key)
        return None
    return message


def queue_parcel_notice(
    session: Session,
    *,
    parcel: Parcel,
    kind: NoticeKind,
    at: datetime,
    actor: str,
    reason: str = "",
    zone: ZoneInfo = DEFAULT_ZONE,
) -> list[Message]:
    """Queue the SMS telling sender and recipient; return what is new.

    A second call for the same parcel and kind queues nothing and returns
    an empty list.
    """
    if kind is NoticeKind.DELAYED and not reason.strip():
        raise BroadcastError(
            f"Say why parcel {parcel.code} is delayed; the reason goes to its "
            "sender and recipient."
        )
    values = {
        "code": parcel.code,
        "when": at.astimezone(zone).strftime("%H:%M"),
        "reason": reason.strip(),
    }
    body = render_template(
        session,
        purpose=kind.purpose,
        channel=MessageChannel.SMS,
        values=values,
        at=at,
    )
    plan_sms(body)

    queued = []
    for party_id in dict.fromkeys((parcel.sender_id, parcel.recipient_id)):
        message = queue_message(
            session,
            update_key=f"parcel:{parcel.id}:{kind.value}",
            party_id=party_id,
            channel=MessageChannel.SMS,
            body=body,
            at=at,
        )
        if message is not None:
            queued.append(message)

    if queued:
        append_event(
            session,
            kind="ParcelNoticeQueued",
            subject=parcel.subject,
            actor=actor,
            occurred_at=at,
            payload={
                "notice": kind.value,
                "reason": reason.strip(),
                "messages": [m.id for m in queued],
            },
        )
    return queued


def queue_driver_reply(
    session: Session,
    *,
    phone: str,
    text: str,
    at: datetime,
    actor: str,
    reply_to: str,
) -> Message:
    """Queue the reply to an inbound text; the same ``reply_to`` queues once.

    ``reply_to`` names the inbound text (its log id). The phone is looked
    up in ``parties``; a number no Party holds is kept on the message only
    until the reply is final.
    """
    if not reply_to.strip():
        raise BroadcastError("A reply must name the text it answers (reply_to).")
    body = render_template(
        session,
        purpose="driver_reply",
        channel=MessageChannel.SMS,
        values={"reply": text.strip()},
        at=at,
    )
    plan_sms(body)

    party = _party_with_phone(session, phone)
    party_id = NO_PARTY if party is None else party.id
    update_key = f"reply:{reply_to.strip()}"
    message = queue_message(
        session,
        update_key=update_key,
        party_id=party_id,
        channel=MessageChannel.SMS,
        body=body,
        at=at,
        reply_phone=None if party is not None else phone.strip(),
    )
    if message is None:
        found = _existing(session, update_key, party_id, MessageChannel.SMS)
        assert found is not None  # queue_message found or raced with it
        return found

    append_event(
        session,
        kind="DriverReplyQueued",
        subject=message.subject,
        actor=actor,
        occurred_at=at,
        payload={"reply_to": reply_to, "party": party_id or None},
    )
    return message


def queue_manifest_sms(
    session: Session,
    *,
    plan_version: int,
    at: datetime,
    actor: str,
    zone: ZoneInfo = DEFAULT_ZONE,
) -> list[Message]:
    """Queue each driver's SMS manifest of a plan version; return what is new.

    One message per text per driver, keyed by version and part, so
    publishing the same version again queues nothing. A van with no driver
    assigned has nobody to text: it is named in the journal.
    """

    plan = session.scalar(select(Plan).where(Plan.version == plan_version))
    if plan is None:
        raise BroadcastError(f"There is no plan version {plan_version} to send.")

    queued: list[Message] = []
    no_driver: list[str] = []
    for manifest in driver_manifests(session, plan=plan):
        driver = session.scalar(
            select(Driver).where(Driver.callsign == manifest.callsign)
        )
        if driver is None:
            no_driver.append(manifest.plate)
            continue
        for part, text in enumerate(sms_manifest(manifest, zone=zone), start=1):
            message = queue_message(
                session,
                update_key=f"manifest:{plan_version}:{part}",
                party_id=driver.party_id,
                channel=MessageChannel.SMS,
                body=text,
                at=at,
            )
            if message is not None:
                queued.append(message)

    if queued or no_driver:
        append_event(
            session,
            kind="ManifestSmsQueued",
            subject=f"plan:{plan_version}",
            actor=actor,
            occurred_at=at,
            payload={"messages": len(queued), "vans_without_driver": no_driver},
        )
    return queued


def _existing(
    session: Session, update_key: str, party_id: int, channel: MessageChannel
) -> Message | None:
    return session.scalar(
        select(Message).where(
            Message.update_key == update_key,
            Message.party_id == party_id,
            Message.channel == channel,
        )
    )


def _party_with_phone(session: Session, phone: str) -> Party | None:
    # The same person may be a driver and a customer; a reply to a
    # driver's text goes to the driver's record.
    parties: Sequence[Party] = session.scalars(
        select(Party).where(Party.phone == phone.strip()).order_by(Party.id)
    ).all()
    drivers = [p for p in parties if p.kind is PartyKind.DRIVER]
    chosen = drivers or list(parties)
    return chosen[0] if chosen else None
