"""What a driver's understood, PIN-checked command does to parcels and the call.

Pickups and deliveries go through :func:`complete_stop`, the service the
driver app calls, on the driver's own stop of the published plan; a delay
is journalled as ``ParcelDelayed``; each notifies sender and recipient.
A help request becomes a call-in item on the open incident. Anything that
is not allowed raises :class:`DriverSmsError` with the reply for the
driver; the caller rolls back to its savepoint so nothing is half done.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from controlroom.broadcasts.service import NoticeKind, queue_parcel_notice
from controlroom.dispatch.models import (
    Driver,
    Plan,
    PlanStatus,
    Route,
    Stop,
    StopKind,
    StopStatus,
)
from controlroom.dispatch.service import complete_stop
from controlroom.driver_sms.commands import Command, CommandKind
from controlroom.errors import DriverSmsError, OrderError
from controlroom.incidents.models import CallItemKind
from controlroom.incidents.service import current_incident, raise_call_item
from controlroom.journal import append_event
from controlroom.orders.models import Parcel, ParcelStatus
from controlroom.orders.service import find_parcel

VIA = "sms"
_NOTICES = {
    CommandKind.PICKUP: NoticeKind.PICKED_UP,
    CommandKind.DELIVERY: NoticeKind.DELIVERED,
    CommandKind.DELAY: NoticeKind.DELAYED,
}
_NOTHING = "Nothing was recorded."


@dataclass(frozen=True)
class Report:
    """What a command changed: the reply and the parcel to notify about."""

    reply: str
    parcel: Parcel | None = None
    notice: NoticeKind | None = None
    on_call: bool = False


def apply_parcel_report(
    session: Session,
    *,
    driver: Driver,
    command: Command,
    at: datetime,
    zone: ZoneInfo,
) -> Report:
    """Record a pickup, delivery or delay a driver texted, or raise why not."""
    assert command.code is not None
    actor = driver_actor(driver)
    parcel = _parcel(session, command.code)
    _check_open(parcel, command.kind, zone)
    stop = _own_stop(session, driver=driver, parcel=parcel, kind=command.kind)
    when = f"{at.astimezone(zone):%H:%M}"

    if command.kind is CommandKind.DELAY:
        append_event(
            session,
            kind="ParcelDelayed",
            subject=parcel.subject,
            actor=actor,
            occurred_at=at,
            payload={
                "code": parcel.code,
                "reason": command.text,
                "stop": stop.id,
                "via": VIA,
            },
        )
        return Report(
            f"Delay for {parcel.code} noted at {when}; sender and recipient "
            "will be told. Text PU or DL when it moves.",
            parcel,
            NoticeKind.DELAYED,
        )

    complete_stop(session, stop=stop, at=at, actor=actor, via=VIA)
    if stop.kind is StopKind.TRANSFER:
        # The parcel was picked up before; its customers were told then.
        return Report(f"Transfer of {parcel.code} onto your van noted at {when}.")
    done = "picked up" if command.kind is CommandKind.PICKUP else "delivered"
    return Report(
        f"{parcel.code} {done} at {when}. Sender and recipient will be told.",
        parcel,
        _NOTICES[command.kind],
    )


def apply_help(
    session: Session, *, driver: Driver, command: Command, at: datetime
) -> Report:
    """Put a driver's call for help on the open incident's call, if one is open."""
    incident = current_incident(session)
    if incident is None:
        return Report(
            "Dispatch has your message and will call you back. If it is an "
            "emergency, call 112.",
            on_call=False,
        )
    # A question can wait its turn; anything else is a problem on the road.
    kind = (
        CallItemKind.QUESTION
        if command.text.rstrip().endswith("?")
        else CallItemKind.PROBLEM
    )
    raise_call_item(
        session,
        incident=incident,
        kind=kind,
        raised_by=driver.callsign,
        text=command.text or "Asks to be called back (sent HELP by SMS).",
        at=at,
        actor=driver_actor(driver),
    )
    return Report(
        "Your message is on the incident call; dispatch will call you back. "
        "If it is an emergency, call 112.",
        on_call=True,
    )


def notify_customers(
    session: Session,
    *,
    report: Report,
    driver: Driver,
    reason: str,
    at: datetime,
    zone: ZoneInfo,
) -> None:
    """Queue the SMS to sender and recipient about a recorded report."""
    if report.parcel is None or report.notice is None:
        return
    queue_parcel_notice(
        session,
        parcel=report.parcel,
        kind=report.notice,
        at=at,
        actor=driver_actor(driver),
        reason=reason,
        zone=zone,
    )


def driver_actor(driver: Driver) -> str:
    """The journal actor of a driver's own report."""
    return f"driver:{driver.callsign}"


def _parcel(session: Session, code: str) -> Parcel:
    try:
        return find_parcel(session, code=code)
    except OrderError:
        raise DriverSmsError(
            f"No parcel has the code {code}; check it on the label. {_NOTHING}"
        ) from None


def _check_open(parcel: Parcel, kind: CommandKind, zone: ZoneInfo) -> None:
    code = parcel.code
    if parcel.status is ParcelStatus.CANCELLED:
        raise DriverSmsError(
            f"{code} was cancelled: do not carry it. Call dispatch. {_NOTHING}"
        )
    if parcel.status is ParcelStatus.DELIVERED:
        at = parcel.delivered_at
        when = f" at {at.astimezone(zone):%H:%M}" if at is not None else ""
        raise DriverSmsError(f"{code} was already delivered{when}. {_NOTHING}")
    if kind is CommandKind.DELIVERY and parcel.status is ParcelStatus.ORDERED:
        raise DriverSmsError(
            f"{code} is not picked up yet: send PU first, then DL. {_NOTHING}"
        )


def _own_stop(
    session: Session, *, driver: Driver, parcel: Parcel, kind: CommandKind
) -> Stop:
    """The driver's planned stop for this parcel on the published plan."""
    stops = session.scalars(
        select(Stop)
        .join(Route, Stop.route_id == Route.id)
        .join(Plan, Route.plan_id == Plan.id)
        .where(
            Plan.status == PlanStatus.PUBLISHED,
            Stop.parcel_id == parcel.id,
            Stop.status == StopStatus.PLANNED,
        )
        .order_by(Stop.sequence)
    ).all()
    if not stops:
        raise DriverSmsError(
            f"{parcel.code} has no open stop on today's plan. Call dispatch. {_NOTHING}"
        )
    mine = [stop for stop in stops if stop.route.driver_id == driver.id]
    if not mine:
        other = stops[0].route.driver
        whose = f"{other.callsign}'s route" if other else "another route"
        raise DriverSmsError(
            f"{parcel.code} is on {whose}, not yours. Call dispatch before "
            f"you take it. {_NOTHING}"
        )

    collect = [stop for stop in mine if stop.kind is not StopKind.DELIVERY]
    deliver = [stop for stop in mine if stop.kind is StopKind.DELIVERY]
    if kind is CommandKind.DELAY:
        return mine[0]
    if kind is CommandKind.PICKUP:
        if not collect:
            raise DriverSmsError(
                f"{parcel.code} is already picked up. Send DL when it is "
                f"delivered. {_NOTHING}"
            )
        return collect[0]
    if collect or not deliver:
        raise DriverSmsError(
            f"{parcel.code} is not on your van to deliver yet. Send PU when "
            f"you collect it. {_NOTHING}"
        )
    return deliver[0]
