"""What the Driver texts screen shows: the latest texts, problems first, and phones."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from controlroom.dispatch.models import Driver
from controlroom.driver_sms.models import DriverPhone, DriverText, TextOutcome
from controlroom.driver_sms.phones import is_locked, mask_phone

LATEST_TEXTS = 100

OUTCOME_WORDS = {
    TextOutcome.APPLIED: "Recorded",
    TextOutcome.NOTICE_FAILED: "Recorded; customers not told",
    TextOutcome.HELP_ON_CALL: "On the incident call",
    TextOutcome.HELP_FOR_DISPATCH: "Asks dispatch for help",
    TextOutcome.COMMAND_LIST: "Sent the command list",
    TextOutcome.REFUSED: "Refused",
    TextOutcome.NOT_UNDERSTOOD: "Not understood",
    TextOutcome.WRONG_PIN: "Wrong PIN",
    TextOutcome.LOCKED: "Phone locked",
    TextOutcome.UNKNOWN_PHONE: "Unknown phone",
}


@dataclass(frozen=True)
class TextLine:
    """One inbound text as the screen lists it; the PIN is already masked."""

    received_at: datetime
    sender: str
    command: str
    code: str
    outcome: TextOutcome
    text: str
    reply: str

    @property
    def problem(self) -> bool:
        """Whether dispatch should look at it."""
        return self.outcome.is_problem

    @property
    def outcome_words(self) -> str:
        """The outcome in words for the screen."""
        return OUTCOME_WORDS[self.outcome]


@dataclass(frozen=True)
class PhoneLine:
    """A phone registered now, its number masked to the last three digits."""

    registration_id: int
    callsign: str
    phone: str
    registered_at: datetime
    registered_by: str
    wrong_pins: int
    locked_until: datetime | None


@dataclass(frozen=True)
class DriverTextsBoard:
    """Everything the Driver texts screen draws."""

    now: datetime
    texts: list[TextLine]
    phones: list[PhoneLine]
    drivers: dict[int, str]

    @property
    def locked(self) -> list[PhoneLine]:
        """The phones locked out now by wrong PINs."""
        return [phone for phone in self.phones if phone.locked_until is not None]

    @property
    def problems(self) -> int:
        """How many of the listed texts need a look."""
        return sum(line.problem for line in self.texts)


def driver_texts_board(
    session: Session, *, now: datetime, limit: int = LATEST_TEXTS
) -> DriverTextsBoard:
    """Read the latest texts (problems first, newest first) and the phones."""
    rows = session.scalars(
        select(DriverText)
        .options(joinedload(DriverText.driver))
        .order_by(DriverText.received_at.desc(), DriverText.id.desc())
        .limit(limit)
    ).all()
    texts = [
        TextLine(
            received_at=row.received_at,
            sender=row.driver.callsign if row.driver is not None else row.sender,
            command=row.command or "",
            code=row.code or "",
            outcome=row.outcome,
            text=row.text,
            reply=row.reply,
        )
        for row in rows
    ]
    # Problems first; Python's sort is stable, so newest first within each.
    texts.sort(key=lambda line: not line.problem)

    registrations = session.scalars(
        select(DriverPhone)
        .options(joinedload(DriverPhone.driver))
        .where(DriverPhone.revoked_at.is_(None))
        .order_by(DriverPhone.registered_at)
    ).all()
    phones = [
        PhoneLine(
            registration_id=phone.id,
            callsign=phone.driver.callsign,
            phone=mask_phone(phone.phone),
            registered_at=phone.registered_at,
            registered_by=phone.registered_by,
            wrong_pins=phone.failed_pins,
            locked_until=phone.locked_until if is_locked(phone, at=now) else None,
        )
        for phone in registrations
    ]
    drivers = {
        driver.id: driver.callsign
        for driver in session.scalars(select(Driver).order_by(Driver.callsign))
    }
    return DriverTextsBoard(now=now, texts=texts, phones=phones, drivers=drivers)
