"""Publishing a draft: brought up to date, then out by app, SMS and paper."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from controlroom.broadcasts.service import queue_manifest_sms
from controlroom.dispatch.day_reading import take_snapshot
from controlroom.dispatch.degradations import active_degradations
from controlroom.dispatch.models import (
    DegradationKind,
    Plan,
    PlanStatus,
)
from controlroom.dispatch.replanning import write_routes
from controlroom.dispatch.service import publish_plan
from controlroom.dispatch.snapshot import (
    Snapshot,
    as_solver_plan,
)
from controlroom.errors import DispatchError
from solver import Plan as SolverPlan
from solver import StopKind as SolverKind
from solver import (
    repair_plan,
)

logger = logging.getLogger(__name__)


class Channel(StrEnum):
    """How drivers receive a published plan."""

    APP = "app"
    SMS = "sms"
    PRINT = "print"


@dataclass(frozen=True)
class Publication:
    """A published plan, how it went out, and what the update changed."""

    plan: Plan
    channels: tuple[Channel, ...]
    brought_up_to_date: bool


def default_channels(session: Session) -> tuple[Channel, ...]:
    """Return the channels to publish over now: SMS and paper while the app is down."""
    if any(
        d.kind is DegradationKind.DRIVER_APP_DOWN for d in active_degradations(session)
    ):
        return (Channel.SMS, Channel.PRINT)
    return (Channel.APP,)


def publish(
    session: Session,
    *,
    draft: Plan,
    at: datetime,
    zone: ZoneInfo,
    actor: str,
    channels: Sequence[Channel] | None = None,
) -> Publication:
    """Bring ``draft`` up to date and make it the plan drivers follow.

    While the draft was reviewed, vans kept driving and orders kept coming.
    Before publishing, the draft is repaired against the day as it is now:
    its stops keep their vans and order, stops done since leave it, new
    orders are inserted where they cost least. The routes are rewritten only
    if that changed anything; either way the journal says so.

    Raises
    ------
    DispatchError
        If ``draft`` is not a draft, the app is chosen while it is declared
        down, no channel is chosen, or the draft can no longer be repaired
        (re-plan instead).
    """
    if draft.status is not PlanStatus.DRAFT:
        raise DispatchError(
            f"Plan {draft.version} is {draft.status.value}; only a draft is published."
        )
    chosen = tuple(dict.fromkeys(channels)) if channels else default_channels(session)
    if not chosen:
        raise DispatchError("Choose how the drivers receive the plan.")
    if Channel.APP in chosen and default_channels(session) != (Channel.APP,):
        raise DispatchError(
            "The driver app is declared down; publish by SMS and print, or end "
            "the declaration first."
        )
    snapshot = take_snapshot(session, at=at, zone=zone, follow=draft)
    reviewed = as_solver_plan(snapshot, draft)
    updated = repair_plan(snapshot.problem, reviewed)
    if updated is None:
        raise DispatchError(
            f"Draft {draft.version} no longer fits what happened since it was "
            "made; re-plan and review again."
        )
    changed = _visits(updated) != _visits(reviewed) or len(updated.unserved) != len(
        draft.unserved
    )
    # Always re-timed from now: a draft reviewed for a while must not send
    # drivers times already past.
    _rewrite(session, draft, snapshot, updated)

    publish_plan(
        session,
        plan=draft,
        at=at,
        actor=actor,
        details={
            "channels": [c.value for c in chosen],
            "brought_up_to_date": changed,
            "stops": sum(len(r.stops) for r in draft.routes),
            "unserved": len(draft.unserved),
        },
    )
    if Channel.SMS in chosen:
        # Into the SMS outbox in the same transaction: the texts go out on
        # the outbox's next round, and publishing again queues nothing new.
        queue_manifest_sms(
            session, plan_version=draft.version, at=at, actor=actor, zone=zone
        )
    return Publication(draft, chosen, changed)


def _visits(plan: SolverPlan) -> dict[str, list[tuple[str, SolverKind]]]:
    return {
        route.vehicle_id: [(s.parcel_id, s.kind) for s in route.stops]
        for route in plan.routes
        if route.stops
    }


def _rewrite(
    session: Session, draft: Plan, snapshot: Snapshot, plan: SolverPlan
) -> None:
    for route in list(draft.routes):
        for stop in list(route.stops):
            session.delete(stop)
        session.delete(route)
    for item in list(draft.unserved):
        session.delete(item)
    session.flush()
    session.expire(draft, ["routes", "unserved"])
    write_routes(session, draft, snapshot, plan)
    session.expire(draft, ["routes", "unserved"])
