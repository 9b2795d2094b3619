"""One text from a driver's dedicated phone: check it, apply it, answer it.

:func:`handle_inbound` takes a text as the SMS gateway delivered it and, in
the caller's transaction: finds the registered phone, reads the command,
checks the PIN (counting wrong ones), applies the command through the same
services as the driver app, keeps the text (PIN masked) in the log the
Driver texts screen reads, journals it, and queues the reply. Whatever is
refused changes nothing: the command runs in a savepoint that is rolled
back whole, and only the log, the journal entry, the wrong-PIN count and
the reply remain.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from controlroom.broadcasts.service import queue_driver_reply
from controlroom.config import load_settings
from controlroom.dispatch.models import Driver
from controlroom.driver_sms.commands import (
    COMMAND_LIST,
    MAX_TEXT,
    Command,
    CommandKind,
    mask_pins,
    parse_command,
)
from controlroom.driver_sms.models import DriverPhone, DriverText, TextOutcome
from controlroom.driver_sms.phones import (
    LOCKOUT,
    MAX_WRONG_PINS,
    PinCheck,
    active_phone,
    is_locked,
    mask_phone,
    normalise_phone,
    verify_pin,
)
from controlroom.driver_sms.reports import (
    Report,
    apply_help,
    apply_parcel_report,
    driver_actor,
    notify_customers,
)
from controlroom.errors import (
    CommandNotUnderstood,
    DispatchError,
    DriverSmsError,
    IncidentError,
    MessagingError,
    OrderError,
    PackageCodeError,
)
from controlroom.journal import append_event

logger = logging.getLogger(__name__)

# Nothing is sent back to a number that is not registered (or revoked): a
# reply would cost money and let anyone make us text anyone. The text is
# still logged, so dispatch sees a driver writing from a new phone.
UNKNOWN_PHONE_REPLY = "(no reply: this number is not registered for driver texts)"
_REFUSALS = (DriverSmsError, OrderError, DispatchError, PackageCodeError)


@dataclass(frozen=True)
class InboundOutcome:
    """What became of one inbound text, and the reply queued for it."""

    outcome: TextOutcome
    reply: str
    text_id: int
    driver: str | None = None
    command: CommandKind | None = None
    code: str | None = None


@dataclass(frozen=True)
class _Reading:
    command: Command | None
    masked: str
    trouble: str


def handle_inbound(
    session: Session,
    *,
    phone: str,
    text: str,
    at: datetime,
    zone: ZoneInfo | None = None,
) -> InboundOutcome:
    """Apply one driver's text, log and journal it without the PIN, queue the reply.

    ``zone`` is where the reply's times are told (the setting by default).
    """
    if at.tzinfo is None:
        raise DriverSmsError("The time a text came in must carry its time zone.")
    zone = zone or ZoneInfo(load_settings().timezone)
    number = _number(phone)
    registration = None if number is None else active_phone(session, phone=number)
    reading = _read(text)
    sender = mask_phone(number) if number else "(unreadable)"

    if registration is None:
        return _finish(
            session,
            at=at,
            sender=sender,
            reply_to=None,
            registration=None,
            reading=reading,
            outcome=TextOutcome.UNKNOWN_PHONE,
            reply=UNKNOWN_PHONE_REPLY,
        )

    outcome, reply = _answer(
        session, registration=registration, reading=reading, at=at, zone=zone
    )
    return _finish(
        session,
        at=at,
        sender=sender,
        reply_to=number,
        registration=registration,
        reading=reading,
        outcome=outcome,
        reply=reply,
    )


def _answer(
    session: Session,
    *,
    registration: DriverPhone,
    reading: _Reading,
    at: datetime,
    zone: ZoneInfo,
) -> tuple[TextOutcome, str]:
    """Check lock, command and PIN in that order; then carry the command out."""
    if is_locked(registration, at=at):
        return TextOutcome.LOCKED, _locked_reply(registration, zone)
    command = reading.command
    if command is None:
        return TextOutcome.NOT_UNDERSTOOD, reading.trouble
    if command.pin is None:
        return TextOutcome.COMMAND_LIST, f"CryptoPack commands: {COMMAND_LIST}."

    verdict = verify_pin(session, registration=registration, pin=command.pin, at=at)
    if verdict.check is PinCheck.LOCKED:
        return TextOutcome.LOCKED, _locked_reply(registration, zone)
    if verdict.check is PinCheck.WRONG:
        return TextOutcome.WRONG_PIN, (
            f"Wrong PIN; nothing was recorded. {verdict.tries_left} more wrong "
            f"and this phone is locked for {_minutes(LOCKOUT.total_seconds())}."
        )

    driver = registration.driver
    if command.kind is CommandKind.HELP:
        return _help(session, driver=driver, command=command, at=at)
    try:
        with session.begin_nested():
            report = apply_parcel_report(
                session, driver=driver, command=command, at=at, zone=zone
            )
    except _REFUSALS as exc:
        logger.info(
            "driver text refused driver=%s command=%s reason=%s",
            driver.callsign,
            command.kind,
            exc,
        )
        return TextOutcome.REFUSED, str(exc)
    return _notify(
        session, driver=driver, command=command, report=report, at=at, zone=zone
    )


def _help(
    session: Session, *, driver: Driver, command: Command, at: datetime
) -> tuple[TextOutcome, str]:
    try:
        with session.begin_nested():
            report = apply_help(session, driver=driver, command=command, at=at)
    except IncidentError as exc:
        # The call could not take it; dispatch still sees it on the screen.
        logger.warning(
            "help not put on the call driver=%s reason=%s", driver.callsign, exc
        )
        report = Report("Dispatch has your message and will call you back.")
    outcome = (
        TextOutcome.HELP_ON_CALL if report.on_call else TextOutcome.HELP_FOR_DISPATCH
    )
    return outcome, report.reply


def _notify(
    session: Session,
    *,
    driver: Driver,
    command: Command,
    report: Report,
    at: datetime,
    zone: ZoneInfo,
) -> tuple[TextOutcome, str]:
    """Tell sender and recipient; a failure there leaves the report standing."""
    try:
        with session.begin_nested():
            notify_customers(
                session,
                report=report,
                driver=driver,
                reason=command.text,
                at=at,
                zone=zone,
            )
    except MessagingError as exc:
        logger.warning(
            "customer notice not queued driver=%s code=%s reason=%s",
            driver.callsign,
            command.code,
            exc,
        )
        return TextOutcome.NOTICE_FAILED, report.reply.replace(
            "Sender and recipient will be told.", "Dispatch will tell the customers."
        )
    return TextOutcome.APPLIED, report.reply


def _finish(
    session: Session,
    *,
    at: datetime,
    sender: str,
    reply_to: str | None,
    registration: DriverPhone | None,
    reading: _Reading,
    outcome: TextOutcome,
    reply: str,
) -> InboundOutcome:
    """Keep the text in the log, journal it, and queue the reply."""
    driver = registration.driver if registration is not None else None
    command = reading.command
    row = DriverText(
        received_at=at,
        sender=sender,
        phone_id=registration.id if registration is not None else None,
        driver_id=driver.id if driver is not None else None,
        command=command.kind.value if command is not None else None,
        code=command.code if command is not None else None,
        outcome=outcome,
        text=_fit(reading.masked),
        reply=_fit(reply),
    )
    session.add(row)
    session.flush()

    actor = driver_actor(driver) if driver is not None else f"sms:{sender}"
    append_event(
        session,
        kind="DriverTextReceived",
        subject=row.subject,
        actor=actor,
        occurred_at=at,
        payload={
            "via": "sms",
            "sender": sender,
            "command": row.command,
            "code": row.code,
            "outcome": outcome.value,
            "text": row.text,
            "reply": row.reply,
        },
    )
    if reply_to is not None:
        _queue_reply(session, phone=reply_to, reply=reply, row=row, at=at, actor=actor)
    logger.info(
        "driver text handled text=%s driver=%s outcome=%s",
        row.id,
        driver.callsign if driver is not None else "-",
        outcome,
    )
    return InboundOutcome(
        outcome=outcome,
        reply=reply,
        text_id=row.id,
        driver=driver.callsign if driver is not None else None,
        command=command.kind if command is not None else None,
        code=row.code,
    )


def _queue_reply(
    session: Session,
    *,
    phone: str,
    reply: str,
    row: DriverText,
    at: datetime,
    actor: str,
) -> None:
    try:
        with session.begin_nested():
            queue_driver_reply(
                session,
                phone=phone,
                text=reply,
                at=at,
                actor=actor,
                reply_to=row.subject,
            )
    except MessagingError as exc:
        # The text is applied and logged; the screen shows the reply to
        # give by phone if the outbox refused it.
        logger.warning("driver reply not queued text=%s reason=%s", row.id, exc)


def _read(text: str) -> _Reading:
    try:
        command = parse_command(text)
    except CommandNotUnderstood as exc:
        return _Reading(None, mask_pins(text), str(exc))
    return _Reading(command, command.masked(text), "")


def _number(phone: str) -> str | None:
    try:
        return normalise_phone(phone)
    except DriverSmsError:
        return None


def _locked_reply(registration: DriverPhone, zone: ZoneInfo) -> str:
    until = registration.locked_until
    assert until is not None
    local = until.astimezone(zone)
    return (
        f"Too many wrong PINs ({MAX_WRONG_PINS}): this phone is locked until "
        f"{local:%H:%M} {local:%Z}. Nothing was recorded. Call dispatch if "
        "it is urgent."
    )


def _minutes(seconds: float) -> str:
    return f"{round(seconds / 60)} minutes"


def _fit(text: str) -> str:
    return text if len(text) <= MAX_TEXT else text[: MAX_TEXT - 1] + "…"
