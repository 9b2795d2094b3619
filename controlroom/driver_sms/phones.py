"""Registering a driver's dedicated phone, and checking the PIN it texts.

The PIN is hashed with Argon2id (as sign-in passwords are) and never
stored, journalled or logged in the clear. A 4-digit PIN is weak against
someone holding the database, so the hash is the second line; the first is
the lockout: five wrong PINs in a row lock the phone for 15 minutes, while
it is locked no PIN is even tried, and a right PIN clears the count.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from controlroom.dispatch.models import Driver
from controlroom.driver_sms.models import DriverPhone
from controlroom.errors import DriverSmsError
from controlroom.journal import append_event

logger = logging.getLogger(__name__)

MAX_WRONG_PINS = 5
LOCKOUT = timedelta(minutes=15)
_hasher = PasswordHasher()
_PIN = re.compile(r"[0-9]{4,8}", re.ASCII)
# E.164: a country code and number of at most 15 digits, no leading zero.
_E164 = re.compile(r"\+[1-9][0-9]{6,14}", re.ASCII)
_PHONE_NOISE = str.maketrans("", "", " -.()/\u00a0")


class PinCheck(StrEnum):
    """The answer to a PIN texted from a registered phone."""

    RIGHT = "right"
    WRONG = "wrong"
    LOCKED = "locked"


@dataclass(frozen=True)
class PinVerdict:
    """A PIN check: its answer, tries left and until when a lock holds."""

    check: PinCheck
    tries_left: int
    locked_until: datetime | None


def normalise_phone(raw: str) -> str:
    """Return a phone number in E.164 form (``+4791234567``), or raise why not.

    Spaces, hyphens, dots and brackets are dropped and a leading ``00`` is
    read as ``+``; a number without its country code is refused, because
    the dedicated phones roam and a text reports its sender in full.
    """
    compact = raw.strip().translate(_PHONE_NOISE)
    if compact.startswith("00"):
        compact = "+" + compact[2:]
    if not _E164.fullmatch(compact):
        raise DriverSmsError(
            "Give the phone number in international form: + and the country "
            "code, then the number, at most 15 digits (like +47 912 34 567)."
        )
    return compact


def mask_phone(phone: str) -> str:
    """Hide all but the last three digits of a number: ``+*******567``."""
    head = "+" if phone.startswith("+") else ""
    digits = phone[len(head) :]
    return head + "*" * max(len(digits) - 3, 0) + digits[-3:]


def check_pin_form(pin: str) -> str:
    """Return ``pin`` if it is 4 to 8 digits, or raise saying what a PIN is."""
    if not _PIN.fullmatch(pin):
        raise DriverSmsError("A PIN is 4 to 8 digits, nothing else.")
    if len(set(pin)) == 1:
        raise DriverSmsError(
            "Choose a PIN that is not one digit repeated; it is the only "
            "thing that tells a driver's text from anyone else's."
        )
    return pin


def active_phone(session: Session, *, phone: str) -> DriverPhone | None:
    """Return the registration now in force for this number, if any."""
    return session.scalar(
        select(DriverPhone).where(
            DriverPhone.phone == phone, DriverPhone.revoked_at.is_(None)
        )
    )


def driver_phone(session: Session, *, driver: Driver) -> DriverPhone | None:
    """Return the phone registered to this driver now, if any."""
    return session.scalar(
        select(DriverPhone).where(
            DriverPhone.driver_id == driver.id, DriverPhone.revoked_at.is_(None)
        )
    )


def register_phone(
    session: Session,
    *,
    driver: Driver,
    phone: str,
    pin: str,
    at: datetime,
    actor: str,
) -> DriverPhone:
    """Register a dedicated phone and PIN to a driver; journal it without the PIN.

    A driver has one phone at a time: an earlier registration of theirs is
    revoked. A number registered to another driver is refused until it is
    revoked there.
    """
    number = normalise_phone(phone)
    check_pin_form(pin)
    holder = active_phone(session, phone=number)
    if holder is not None and holder.driver_id != driver.id:
        raise DriverSmsError(
            f"{mask_phone(number)} is registered to {holder.driver.callsign}; "
            "revoke it there first."
        )
    earlier = driver_phone(session, driver=driver)
    if earlier is not None:
        revoke_phone(session, registration=earlier, at=at, actor=actor)

    registration = DriverPhone(
        driver_id=driver.id,
        phone=number,
        pin_hash=_hasher.hash(pin),
        registered_at=at,
        registered_by=actor,
        failed_pins=0,
    )
    session.add(registration)
    session.flush()
    append_event(
        session,
        kind="DriverPhoneRegistered",
        subject=registration.subject,
        actor=actor,
        occurred_at=at,
        payload={"driver": driver.callsign, "phone": mask_phone(number)},
    )
    logger.info(
        "driver phone registered driver=%s phone=%s",
        driver.callsign,
        mask_phone(number),
    )
    return registration


def revoke_phone(
    session: Session, *, registration: DriverPhone, at: datetime, actor: str
) -> None:
    """Stop accepting texts from a registered phone; journal ``DriverPhoneRevoked``."""
    if registration.revoked_at is not None:
        raise DriverSmsError(f"{mask_phone(registration.phone)} was already revoked.")
    registration.revoked_at = at
    registration.revoked_by = actor
    append_event(
        session,
        kind="DriverPhoneRevoked",
        subject=registration.subject,
        actor=actor,
        occurred_at=at,
        payload={
            "driver": registration.driver.callsign,
            "phone": mask_phone(registration.phone),
        },
    )


def unlock_phone(
    session: Session, *, registration: DriverPhone, at: datetime, actor: str
) -> None:
    """Lift a PIN lockout early (dispatch spoke to the driver); journal it."""
    registration.locked_until = None
    registration.failed_pins = 0
    append_event(
        session,
        kind="DriverPhoneUnlocked",
        subject=registration.subject,
        actor=actor,
        occurred_at=at,
        payload={"driver": registration.driver.callsign},
    )


def is_locked(registration: DriverPhone, *, at: datetime) -> bool:
    """Whether the phone is locked out at ``at``."""
    until = registration.locked_until
    return until is not None and at < until


def verify_pin(
    session: Session, *, registration: DriverPhone, pin: str, at: datetime
) -> PinVerdict:
    """Check a texted PIN, counting wrong ones; the fifth in a row locks the phone.

    While locked the PIN is not checked at all, so guessing gains nothing.
    """
    if is_locked(registration, at=at):
        return PinVerdict(PinCheck.LOCKED, 0, registration.locked_until)

    try:
        _hasher.verify(registration.pin_hash, pin)
    except (VerificationError, InvalidHashError):
        registration.failed_pins += 1
    else:
        registration.failed_pins = 0
        registration.locked_until = None
        return PinVerdict(PinCheck.RIGHT, MAX_WRONG_PINS, None)

    if registration.failed_pins >= MAX_WRONG_PINS:
        registration.failed_pins = 0
        registration.locked_until = at + LOCKOUT
        append_event(
            session,
            kind="DriverPhoneLocked",
            subject=registration.subject,
            actor="sms",
            occurred_at=at,
            payload={
                "driver": registration.driver.callsign,
                "until": registration.locked_until,
                "wrong_pins": MAX_WRONG_PINS,
            },
        )
        logger.warning(
            "driver phone locked driver=%s phone=%s",
            registration.driver.callsign,
            mask_phone(registration.phone),
        )
        return PinVerdict(PinCheck.LOCKED, 0, registration.locked_until)
    return PinVerdict(PinCheck.WRONG, MAX_WRONG_PINS - registration.failed_pins, None)
