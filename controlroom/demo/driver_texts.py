"""Drivers texting their stops from the van phone while the app is down.

The seeding registers each van's dedicated phone with its demo PIN
(:func:`register_demo_phones`); the PINs live in the story file only, the
database keeps their hashes. While the story's texting window is on, a
share of the stops the simulator completes is reported by SMS instead of
the app: the text goes through :func:`handle_inbound`, as one from the SMSC
would, so the stop is completed "via sms", the customers are told and the
driver gets a reply. Which stops are texted is drawn from the seed and the
stop, so a replayed day texts the same ones.
"""

from __future__ import annotations

import logging
import random
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from controlroom.demo.day import OSLO
from controlroom.demo.incident_script import IncidentScript
from controlroom.dispatch.models import Driver, Stop, StopKind, StopStatus
from controlroom.dispatch.service import published_plan
from controlroom.driver_sms.commands import CommandKind
from controlroom.driver_sms.models import TextOutcome
from controlroom.driver_sms.phones import register_phone
from controlroom.driver_sms.service import InboundOutcome, handle_inbound
from controlroom.errors import DemoWorldError

logger = logging.getLogger(__name__)

# What a driver's text for a stop of each kind reports.
TEXTED_KINDS = {
    StopKind.PICKUP: CommandKind.PICKUP,
    StopKind.DELIVERY: CommandKind.DELIVERY,
}
APPLIED = (TextOutcome.APPLIED, TextOutcome.NOTICE_FAILED)


def register_demo_phones(
    session: Session, script: IncidentScript, *, at: datetime, actor: str
) -> int:
    """Register each van's dedicated phone and PIN; return how many."""
    for entry in script.phones:
        register_phone(
            session,
            driver=driver_by_callsign(session, entry.driver),
            phone=entry.phone,
            pin=entry.pin,
            at=at,
            actor=actor,
        )
    return len(script.phones)


def driver_by_callsign(session: Session, callsign: str) -> Driver:
    """Return driver ``callsign`` or say the story names a driver not seeded."""
    driver = session.scalar(select(Driver).where(Driver.callsign == callsign))
    if driver is None:
        raise DemoWorldError(
            f"The incident script names driver {callsign}, whom the demo world "
            "does not have; fix data/demo/incident_script.json."
        )
    return driver


def reported_by_text(
    session: Session, script: IncidentScript, seed: int, stop: Stop, at: datetime
) -> bool:
    """Report ``stop`` by the driver's text if it is one of the texted ones.

    Returns False when the stop is left to the app: not texted, or the text
    was refused (logged; it changed nothing, so the app reports it).
    """
    if not texts_stop(script, seed, stop, at):
        return False
    answer = text_stop(session, script, stop, at)
    if answer.outcome not in APPLIED:
        logger.warning(
            "texted stop refused; reported by the app stop=%s outcome=%s",
            stop.id,
            answer.outcome.value,
        )
        return False
    return True


def texts_stop(script: IncidentScript, seed: int, stop: Stop, at: datetime) -> bool:
    """Whether the driver reports ``stop`` by SMS rather than by the app."""
    window = script.texting
    if window is None or stop.kind not in TEXTED_KINDS:
        return False
    if not window.covers(at.astimezone(OSLO).time()):
        return False
    driver = stop.route.driver
    if driver is None or script.phone_of(driver.callsign) is None:
        return False
    return random.Random(f"{seed}:texted:{stop.id}").random() < window.share


def text_stop(
    session: Session, script: IncidentScript, stop: Stop, at: datetime
) -> InboundOutcome:
    """Report ``stop`` by the driver's text; the caller checks it applied."""
    assert script.texting is not None and stop.route.driver is not None
    callsign = stop.route.driver.callsign
    entry = script.phone_of(callsign)
    assert entry is not None
    template = script.texting.template(TEXTED_KINDS[stop.kind])
    text = template.format(code=stop.parcel.code, pin=entry.pin)
    return handle_inbound(session, phone=entry.phone, text=text, at=at, zone=OSLO)


def send_driver_text(
    session: Session, script: IncidentScript, callsign: str, template: str, at: datetime
) -> InboundOutcome:
    """Send a scripted text from driver ``callsign``'s van phone.

    ``{pin}`` in the text is the driver's PIN and ``{code}`` the package
    code of the driver's next open stop.
    """
    entry = script.phone_of(callsign)
    if entry is None:
        raise DemoWorldError(f"Driver {callsign} has no van phone in the script.")
    code = ""
    if "{code}" in template:
        code = _next_code(session, driver_by_callsign(session, callsign))
    text = template.format(code=code, pin=entry.pin)
    return handle_inbound(session, phone=entry.phone, text=text, at=at, zone=OSLO)


def _next_code(session: Session, driver: Driver) -> str:
    plan = published_plan(session)
    routes = [r for r in plan.routes if r.driver_id == driver.id] if plan else []
    pending = sorted(
        (s for r in routes for s in r.stops if s.status is StopStatus.PLANNED),
        key=lambda stop: stop.sequence,
    )
    if not pending:
        raise DemoWorldError(
            f"Driver {driver.callsign} has no open stop for the scripted text "
            "to name; move the step to a time the van is on the road."
        )
    return pending[0].parcel.code
