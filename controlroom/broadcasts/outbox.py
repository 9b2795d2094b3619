"""The SMS outbox: send queued messages through a gateway, apply receipts.

One round (:func:`run_round`) delivers the app feed, sends queued SMS one
by one, then reads the delivery receipts that have arrived.

What happens on each gateway answer:

- accepted: ``sent``, its segment ids kept for the receipts;
- throttled: stays ``queued``, no attempt counted; the round stops, the
  next round sends it (the segments accepted before are remembered so
  their receipts are not taken for strangers');
- gateway unavailable: an attempt is counted and the round stops; after
  ``max_attempts`` the message is ``failed`` and flagged for a person;
- rejected: ``failed`` and flagged at once: sending it again will not help.

Receipts: DELIVRD on every segment of the latest attempt makes the message
``delivered`` (a phone shows a concatenated text only when all its parts
arrived, so one missing part is not a delivery). A failed receipt
(UNDELIV, REJECTD, EXPIRED, DELETED) on any segment sends the whole text
again, up to ``max_attempts``, then fails and flags it. A receipt no sent
message can be named for is stored as unmatched, shown, never counted.

Crashes. Each message is sent between two commits: the first marks it
``sending_since`` and counts the attempt, the second records the answer.
If the process dies after the gateway accepted the text but before the
second commit, the message is still ``queued`` and the next round sends it
again: the recipient may get it twice, but it is never silently lost; the
repeat is noted in ``last_error`` so the screen can say so.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from controlroom.broadcasts.composer import deliver_app_feed
from controlroom.broadcasts.models import (
    Message,
    MessageChannel,
    MessageState,
    UnmatchedReceipt,
)
from controlroom.errors import MessagingError
from controlroom.journal import append_event
from controlroom.messaging.gateway import (
    SmsGateway,
    SmsGatewayUnavailable,
    SmsRefused,
    SmsThrottled,
)
from controlroom.messaging.receipts import Outcome, Receipt, explain_match
from controlroom.orders.models import Party

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 3
MANIFEST_PREFIX = "manifest:"
ERASED_MANIFEST = "(manifest delivered; its addresses are not kept here)"
ACTOR = "outbox"
_FINAL = (MessageState.DELIVERED, MessageState.FAILED)


@dataclass
class RoundReport:
    """What one outbox round did, for the CLI table and the screen."""

    app_delivered: int = 0
    sent: int = 0
    throttled: int = 0
    unavailable: int = 0
    failed: int = 0
    delivered: int = 0
    retried: int = 0
    unmatched: int = 0
    segments_sent: int = 0
    stopped: str = ""
    problems: list[str] = field(default_factory=list)


def run_round(
    engine: Engine,
    gateway: SmsGateway,
    *,
    at: datetime,
    max_attempts: int = MAX_ATTEMPTS,
    wait_seconds: float = 0.0,
    at_least: int = 0,
) -> RoundReport:
    """Deliver the app feed, send queued SMS, then apply arrived receipts.

    Waits up to ``wait_seconds`` for one receipt per segment sent in this
    round (or for ``at_least`` receipts, when given).
    """
    report = RoundReport()
    with Session(engine) as session, session.begin():
        report.app_delivered = deliver_app_feed(session, at=at)

    send_queued(engine, gateway, at=at, max_attempts=max_attempts, report=report)

    try:
        receipts = gateway.receipts(
            wait_seconds=wait_seconds, at_least=at_least or report.segments_sent
        )
    except MessagingError as error:
        report.problems.append(f"Receipts could not be read: {error}")
        return report
    with Session(engine) as session, session.begin():
        apply_receipts(
            session, receipts, at=at, max_attempts=max_attempts, report=report
        )
    return report


def send_queued(
    engine: Engine,
    gateway: SmsGateway,
    *,
    at: datetime,
    max_attempts: int = MAX_ATTEMPTS,
    limit: int = 500,
    report: RoundReport | None = None,
) -> RoundReport:
    """Send queued SMS, oldest first, each between its own two commits."""
    report = report or RoundReport()
    with Session(engine) as session, session.begin():
        waiting = session.scalars(
            select(Message.id)
            .where(
                Message.channel == MessageChannel.SMS,
                Message.state == MessageState.QUEUED,
            )
            .order_by(Message.queued_at, Message.id)
            .limit(limit)
        ).all()

    for message_id in waiting:
        with Session(engine) as session, session.begin():
            claimed = _claim(session, message_id, at)
        if claimed is None:
            continue
        phone, text = claimed

        try:
            ids = gateway.send(phone, text)
        except SmsThrottled as error:
            _record(engine, message_id, _throttled, error, at, max_attempts)
            report.throttled += 1
            report.stopped = f"the gateway is throttling us ({error})"
            break
        except SmsRefused as error:
            _record(engine, message_id, _rejected, error, at, max_attempts)
            report.failed += 1
            continue
        except SmsGatewayUnavailable as error:
            failed = _record(engine, message_id, _unavailable, error, at, max_attempts)
            report.unavailable += 1
            report.failed += int(failed)
            report.stopped = f"the gateway is unavailable ({error})"
            break
        _record(engine, message_id, _accepted, ids, at, max_attempts)
        report.sent += 1
        report.segments_sent += len(ids)
    return report


def apply_receipts(
    session: Session,
    receipts: Sequence[Receipt],
    *,
    at: datetime,
    max_attempts: int = MAX_ATTEMPTS,
    report: RoundReport | None = None,
) -> RoundReport:
    """Match receipts to sent messages and move them on; keep the unmatched."""
    report = report or RoundReport()
    if not receipts:
        return report
    by_id = _messages_by_segment(session)

    for receipt in receipts:
        found = explain_match(receipt, by_id)
        if found.sent_id is None:
            session.add(
                UnmatchedReceipt(
                    message_id=receipt.message_id[:80],
                    stat=receipt.stat[:24],
                    reason=found.reason[:300],
                    received_at=at,
                )
            )
            report.unmatched += 1
            continue
        message = by_id[found.sent_id]
        if found.sent_id not in message.segment_states:
            # A receipt for an earlier attempt (or a throttled part): the
            # latest attempt decides.
            continue
        message.segment_states = {
            **message.segment_states,
            found.sent_id: receipt.stat,
        }
        if receipt.outcome is Outcome.FAILED and message.state is MessageState.SENT:
            if _fail_or_retry(
                session,
                message,
                f"Delivery receipt said {receipt.stat}",
                at,
                max_attempts,
            ):
                report.failed += 1
            else:
                report.retried += 1
        elif receipt.outcome is Outcome.DELIVERED and _all_delivered(message):
            _finish(session, message, MessageState.DELIVERED, at, "")
            report.delivered += 1
    session.flush()
    return report


def read_receipts(
    engine: Engine,
    gateway: SmsGateway,
    *,
    at: datetime,
    max_attempts: int = MAX_ATTEMPTS,
    wait_seconds: float = 0.0,
) -> RoundReport:
    """Apply the receipts that arrive within ``wait_seconds``; send nothing."""
    report = RoundReport()
    receipts = gateway.receipts(wait_seconds=wait_seconds)
    with Session(engine) as session, session.begin():
        apply_receipts(
            session, receipts, at=at, max_attempts=max_attempts, report=report
        )
    return report


def retry_message(
    session: Session, *, message_id: int, at: datetime, actor: str
) -> Message:
    """Queue a failed message again, with its attempts counted afresh."""
    message = session.get(Message, message_id)
    if message is None:
        raise MessagingError(f"There is no message {message_id}.")
    if message.state is not MessageState.FAILED:
        raise MessagingError(
            f"Message {message_id} is {message.state.value}; only a failed "
            "message is sent again."
        )
    if message.party_id == 0 and message.reply_phone is None:
        raise MessagingError(
            f"Message {message_id} went to a number no longer kept; it cannot "
            "be sent again."
        )
    message.state = MessageState.QUEUED
    message.attempts = 0
    message.flagged = False
    message.segment_states = {}
    message.finished_at = None
    append_event(
        session,
        kind="MessageRetried",
        subject=message.subject,
        actor=actor,
        occurred_at=at,
        payload={"last_error": message.last_error},
    )
    return message


def _claim(session: Session, message_id: int, at: datetime) -> tuple[str, str] | None:
    message = session.get(Message, message_id)
    if message is None or message.state is not MessageState.QUEUED:
        return None  # another round took it meanwhile
    if message.sending_since is not None:
        message.last_error = (
            "An earlier attempt may have reached the gateway before the outbox "
            "stopped; the recipient may get this text twice."
        )
    phone = _phone(session, message)
    if phone is None:
        _finish(
            session,
            message,
            MessageState.FAILED,
            at,
            "The recipient has no phone number on record.",
        )
        return None
    message.sending_since = at
    message.attempts += 1
    return phone, message.body


def _phone(session: Session, message: Message) -> str | None:
    if message.reply_phone:
        return message.reply_phone
    party = session.get(Party, message.party_id)
    return party.phone if party is not None and party.phone else None


# How an answer from the gateway moves a message on; True if it failed.
_Step = Callable[[Session, Message, Any, datetime, int], bool]


def _record(
    engine: Engine,
    message_id: int,
    step: _Step,
    detail: object,
    at: datetime,
    max_attempts: int,
) -> bool:
    with Session(engine) as session, session.begin():
        message = session.get(Message, message_id)
        assert message is not None  # claimed in the commit before
        message.sending_since = None
        return step(session, message, detail, at, max_attempts)


def _accepted(
    session: Session, message: Message, ids: list[str], at: datetime, _max: int
) -> bool:
    message.state = MessageState.SENT
    message.sent_at = at
    message.segment_ids = [*message.segment_ids, *ids]
    message.segment_states = dict.fromkeys(ids, "")
    append_event(
        session,
        kind="MessageSent",
        subject=message.subject,
        actor=ACTOR,
        occurred_at=at,
        payload={"segments": len(ids), "attempt": message.attempts},
    )
    return False


def _throttled(
    session: Session, message: Message, error: SmsThrottled, at: datetime, _max: int
) -> bool:
    message.attempts -= 1  # the gateway asked us to wait; not a failure
    message.segment_ids = [*message.segment_ids, *error.sent_ids]
    message.last_error = f"Throttled by the gateway: {error}"[:300]
    return False


def _rejected(
    session: Session, message: Message, error: SmsRefused, at: datetime, _max: int
) -> bool:
    message.segment_ids = [*message.segment_ids, *error.sent_ids]
    _finish(session, message, MessageState.FAILED, at, f"Rejected: {error}")
    return True


def _unavailable(
    session: Session,
    message: Message,
    error: SmsGatewayUnavailable,
    at: datetime,
    max_attempts: int,
) -> bool:
    message.segment_ids = [*message.segment_ids, *error.sent_ids]
    return _fail_or_retry(
        session, message, f"Gateway unavailable: {error}", at, max_attempts
    )


def _fail_or_retry(
    session: Session, message: Message, reason: str, at: datetime, max_attempts: int
) -> bool:
    """Queue ``message`` again, or fail and flag it after its last attempt."""
    if message.attempts >= max_attempts:
        _finish(
            session,
            message,
            MessageState.FAILED,
            at,
            f"{reason} (after {message.attempts} attempts)",
        )
        return True
    message.state = MessageState.QUEUED
    message.segment_states = {}
    message.last_error = reason[:300]
    append_event(
        session,
        kind="MessageRequeued",
        subject=message.subject,
        actor=ACTOR,
        occurred_at=at,
        payload={"reason": reason[:300], "attempts": message.attempts},
    )
    return False


def _finish(
    session: Session, message: Message, state: MessageState, at: datetime, error: str
) -> None:
    message.state = state
    message.finished_at = at
    message.reply_phone = None  # kept only until the message is final
    if state is MessageState.DELIVERED and message.update_key.startswith(
        MANIFEST_PREFIX
    ):
        # A manifest lists customers' streets and postcodes; once the
        # driver has it, the outbox need not keep a copy.
        message.body = ERASED_MANIFEST
    if state is MessageState.FAILED:
        message.flagged = True
        message.last_error = error[:300]
    append_event(
        session,
        kind="MessageDelivered" if state is MessageState.DELIVERED else "MessageFailed",
        subject=message.subject,
        actor=ACTOR,
        occurred_at=at,
        payload={"attempts": message.attempts, "error": error[:300]},
    )
    logger.info("message final message=%s state=%s", message.id, state.value)


def _messages_by_segment(session: Session) -> dict[str, Message]:
    # Receipts may come for any attempt still open; a final message takes
    # no more (a late receipt for it is shown as unmatched).
    query = select(Message).where(
        Message.channel == MessageChannel.SMS,
        Message.state.in_((MessageState.SENT, MessageState.QUEUED)),
    )
    return {
        segment: message
        for message in session.scalars(query)
        for segment in message.segment_ids
    }


def _all_delivered(message: Message) -> bool:
    states = message.segment_states.values()
    return bool(message.segment_states) and all(
        stat in ("DELIVRD", "DELIVERED") for stat in states
    )
