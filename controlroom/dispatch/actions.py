"""What a dispatcher may change from the dispatch screen, as the signed-in user.

Each function opens its own transaction (a page is an entry point) and hands
over to the services, which journal.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from controlroom.auth.models import Role
from controlroom.clock import operating_now
from controlroom.db import read_only
from controlroom.dispatch.degradations import (
    declare_area_closed,
    declare_depot_lost,
    declare_driver_app_down,
    declare_road_closed,
    declare_scheduler_down,
    declare_vehicle_lost,
    end_degradation,
)
from controlroom.dispatch.manifest import DriverManifest
from controlroom.dispatch.manifest_reading import driver_manifests
from controlroom.dispatch.models import (
    Degradation,
    DegradationKind,
    Depot,
    Plan,
    Vehicle,
)
from controlroom.dispatch.publishing import Channel, publish
from controlroom.dispatch.replanning import SearchBudget, replan
from controlroom.dispatch.scheduling import (
    HOLDS_ORDERS,
    SCHEDULER,
    schedule_waiting_orders,
)
from controlroom.dispatch.service import published_plan
from controlroom.errors import DispatchError
from controlroom.session_frame import SignedInUser, require_role
from controlroom.words import counted

logger = logging.getLogger(__name__)

# Who may declare degradations, re-plan and publish; ops may look.
DISPATCHERS = frozenset({Role.DISPATCHER, Role.MANAGEMENT})


def declare(
    engine: Engine,
    *,
    user: SignedInUser,
    kind: DegradationKind,
    plate: str = "",
    postcodes: Sequence[str] = (),
    depot: int | None = None,
    fallback: int | None = None,
    minutes_ago: int = 0,
    note: str = "",
) -> str:
    """Declare a degradation as ``user``; return its summary."""
    require_role(user, DISPATCHERS, "declare a degradation")
    with Session(engine) as session, session.begin():
        at = operating_now(session)
        actor = user.username
        if kind is DegradationKind.VEHICLE_LOST:
            vehicle = session.scalar(select(Vehicle).where(Vehicle.plate == plate))
            if vehicle is None:
                raise DispatchError(f"No van has the plate {plate!r}.")
            made = declare_vehicle_lost(
                session, vehicle=vehicle, at=at, actor=actor, note=note
            )
        elif kind is DegradationKind.AREA_CLOSED:
            made = declare_area_closed(
                session, postcodes=postcodes, at=at, actor=actor, note=note
            )
        elif kind is DegradationKind.ROAD_CLOSED:
            if len(postcodes) != 2:
                raise DispatchError("Choose the two areas the closed roads join.")
            made = declare_road_closed(
                session,
                between=(postcodes[0], postcodes[1]),
                at=at,
                actor=actor,
                note=note,
            )
        elif kind is DegradationKind.DEPOT_LOST:
            lost = session.get(Depot, depot) if depot is not None else None
            other = session.get(Depot, fallback) if fallback is not None else None
            if lost is None or other is None:
                raise DispatchError("Choose the lost depot and the one to use instead.")
            made = declare_depot_lost(
                session, depot=lost, fallback=other, at=at, actor=actor, note=note
            )
        elif kind is DegradationKind.SCHEDULER_DOWN:
            if minutes_ago < 0:
                raise DispatchError(
                    "Give how many minutes ago it went down (0 or more)."
                )
            made = declare_scheduler_down(
                session,
                since=at - timedelta(minutes=minutes_ago),
                at=at,
                actor=actor,
                note=note,
            )
        else:
            made = declare_driver_app_down(session, at=at, actor=actor, note=note)
        summary = made.summary
    logger.info("degradation declared kind=%s actor=%s", kind.value, user.username)
    return summary


def end_declaration(
    engine: Engine, *, user: SignedInUser, declaration: int, zone: ZoneInfo
) -> str:
    """End an open declaration as ``user``; return what happened, in words."""
    require_role(user, DISPATCHERS, "end a declaration")
    with Session(engine) as session, session.begin():
        item = session.get(Degradation, declaration)
        if item is None:
            raise DispatchError(f"There is no declaration {declaration}.")
        at = operating_now(session)
        end_degradation(session, degradation=item, at=at, actor=user.username)
        summary = item.summary
        if item.kind in HOLDS_ORDERS:
            # The scheduler is back: the orders that waited go into the plan
            # now, not whenever the next order happens to arrive.
            done = schedule_waiting_orders(session, at=at, zone=zone, actor=SCHEDULER)
            if done.placed:
                summary += f"; {counted(len(done.placed), 'waiting order')} scheduled"
            if done.waiting:
                summary += (
                    f"; {counted(len(done.waiting), 'order')} still fit nowhere: "
                    "re-plan"
                )
        return summary


def replan_now(
    engine: Engine,
    *,
    user: SignedInUser,
    reason: str,
    zone: ZoneInfo,
    budget: SearchBudget,
) -> int:
    """Re-plan the rest of the day as ``user``; return the draft's version."""
    require_role(user, DISPATCHERS, "re-plan")
    with Session(engine) as session, session.begin():
        draft = replan(
            session,
            at=operating_now(session),
            zone=zone,
            actor=user.username,
            reason=reason,
            budget=budget,
        )
        version = draft.version
    logger.info("replanned version=%s actor=%s", version, user.username)
    return version


@dataclass(frozen=True)
class Published:
    """What publishing did, for the screen to say."""

    version: int
    channels: tuple[Channel, ...]
    brought_up_to_date: bool
    manifests: tuple[DriverManifest, ...]


def publish_now(
    engine: Engine,
    *,
    user: SignedInUser,
    version: int,
    zone: ZoneInfo,
    channels: Sequence[Channel] | None = None,
) -> Published:
    """Publish draft ``version`` as ``user``; return its manifests if on paper/SMS."""
    require_role(user, DISPATCHERS, "publish a plan")
    with Session(engine) as session, session.begin():
        draft = session.scalar(select(Plan).where(Plan.version == version))
        if draft is None:
            raise DispatchError(f"There is no plan version {version}.")
        done = publish(
            session,
            draft=draft,
            at=operating_now(session),
            zone=zone,
            actor=user.username,
            channels=channels,
        )
        manifests: tuple[DriverManifest, ...] = ()
        if Channel.APP not in done.channels:
            manifests = tuple(driver_manifests(session, plan=draft))
        result = Published(version, done.channels, done.brought_up_to_date, manifests)
    logger.info(
        "published version=%s channels=%s actor=%s",
        version,
        ",".join(c.value for c in result.channels),
        user.username,
    )
    return result


def published_manifests(engine: Engine) -> tuple[DriverManifest, ...]:
    """Return the manifests of the plan drivers follow now (to print again)."""
    with Session(read_only(engine)) as session, session.begin():
        plan = published_plan(session)
        if plan is None:
            raise DispatchError("No plan is published yet.")
        return tuple(driver_manifests(session, plan=plan, now=operating_now(session)))
