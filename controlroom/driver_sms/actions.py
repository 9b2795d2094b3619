"""What dispatchers and managers may do from the Driver texts screen.

Each function checks the role, opens its own transaction (a page is an
entry point) and hands over to the services, which journal. Each returns
the sentence the screen shows when it worked. The PIN passes through once,
to be hashed, and is never part of a message, a log line or an error.
"""

from __future__ import annotations

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from controlroom.auth.models import Role
from controlroom.clock import operating_now
from controlroom.db import read_only
from controlroom.dispatch.models import Driver
from controlroom.driver_sms.board import DriverTextsBoard, driver_texts_board
from controlroom.driver_sms.models import DriverPhone
from controlroom.driver_sms.phones import (
    mask_phone,
    register_phone,
    revoke_phone,
    unlock_phone,
)
from controlroom.errors import DriverSmsError
from controlroom.session_frame import SignedInUser, require_role

PHONE_KEEPERS = frozenset({Role.DISPATCHER, Role.MANAGEMENT})


def load_board(engine: Engine) -> DriverTextsBoard:
    """Read what the Driver texts screen shows."""
    with Session(read_only(engine)) as session:
        return driver_texts_board(session, now=operating_now(session))


def register(
    engine: Engine,
    *,
    user: SignedInUser,
    driver_id: int,
    phone: str,
    pin: str,
    pin_again: str,
) -> str:
    """Register a dedicated phone and PIN to a driver as ``user``."""
    require_role(user, PHONE_KEEPERS, "register a driver's phone")
    if pin != pin_again:
        raise DriverSmsError("The two PINs differ; type the same PIN twice.")
    with Session(engine) as session, session.begin():
        driver = session.get(Driver, driver_id)
        if driver is None:
            raise DriverSmsError("That driver is no longer on the list; reload.")
        registration = register_phone(
            session,
            driver=driver,
            phone=phone,
            pin=pin,
            at=operating_now(session),
            actor=user.username,
        )
        return (
            f"{mask_phone(registration.phone)} is registered to "
            f"{driver.callsign}. Give the driver the PIN in person."
        )


def revoke(engine: Engine, *, user: SignedInUser, registration_id: int) -> str:
    """Stop accepting texts from a registered phone, as ``user``."""
    require_role(user, PHONE_KEEPERS, "revoke a driver's phone")
    with Session(engine) as session, session.begin():
        registration = _registration(session, registration_id)
        revoke_phone(
            session,
            registration=registration,
            at=operating_now(session),
            actor=user.username,
        )
        return (
            f"{mask_phone(registration.phone)} no longer reports for "
            f"{registration.driver.callsign}."
        )


def unlock(engine: Engine, *, user: SignedInUser, registration_id: int) -> str:
    """Lift a PIN lockout early, as ``user``, after speaking to the driver."""
    require_role(user, PHONE_KEEPERS, "unlock a driver's phone")
    with Session(engine) as session, session.begin():
        registration = _registration(session, registration_id)
        unlock_phone(
            session,
            registration=registration,
            at=operating_now(session),
            actor=user.username,
        )
        return f"{registration.driver.callsign}'s phone is unlocked."


def _registration(session: Session, registration_id: int) -> DriverPhone:
    registration = session.get(DriverPhone, registration_id)
    if registration is None or registration.revoked_at is not None:
        raise DriverSmsError("That phone is no longer registered; reload.")
    return registration


def register_by_callsign(
    engine: Engine, *, callsign: str, phone: str, pin: str, actor: str
) -> str:
    """Register a driver's phone from the command line, the driver by call sign."""
    with Session(engine) as session, session.begin():
        driver = session.scalar(select(Driver).where(Driver.callsign == callsign))
        if driver is None:
            raise DriverSmsError(
                f"No driver has the call sign {callsign!r}; see the dispatch "
                "screen for the call signs."
            )
        registration = register_phone(
            session,
            driver=driver,
            phone=phone,
            pin=pin,
            at=operating_now(session),
            actor=actor,
        )
        return f"{mask_phone(registration.phone)} is registered to {callsign}."
