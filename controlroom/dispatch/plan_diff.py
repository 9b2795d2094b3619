"""What a draft plan changes against the plan the drivers follow."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from controlroom.dispatch.models import (
    Plan,
    StopKind,
    StopStatus,
)

# An ETA that moves less than this is not worth a dispatcher's attention.
ETA_NOTICE = timedelta(minutes=5)


@dataclass(frozen=True)
class StopChange:
    """One parcel's stop in the published plan and in the draft."""

    parcel_id: int
    kind: StopKind
    before: str | None
    after: str | None
    eta_before: datetime | None
    eta_after: datetime | None
    late: bool = False

    @property
    def eta_shift(self) -> timedelta | None:
        """How much later (positive) or earlier the stop is now planned."""
        if self.eta_before is None or self.eta_after is None:
            return None
        return self.eta_after - self.eta_before


@dataclass(frozen=True)
class UnservedChange:
    """A parcel the draft leaves out that the published plan still served."""

    parcel_id: int
    reason: str
    explanation: str


@dataclass(frozen=True)
class PlanDiff:
    """What publishing the draft would change, for the dispatcher to review."""

    draft_version: int
    base_version: int | None
    moved: tuple[StopChange, ...]
    retimed: tuple[StopChange, ...]
    newly_planned: tuple[StopChange, ...]
    newly_unserved: tuple[UnservedChange, ...]
    still_unserved: tuple[UnservedChange, ...]
    unchanged: int
    done_since: int = 0

    @property
    def moved_parcels(self) -> int:
        """How many parcels change driver."""
        return len({c.parcel_id for c in self.moved})


def plan_diff(session: Session, *, draft: Plan) -> PlanDiff:
    """Compare ``draft`` with the plan it was made from (published then)."""
    base = None
    if draft.base_version is not None:
        base = session.scalar(select(Plan).where(Plan.version == draft.base_version))
    # Stops done since the draft was made were still open when it was:
    # they count as the base's, or the diff would call them newly planned.
    before = _open_stops(base, since=draft.created_at) if base is not None else {}
    after = _open_stops(draft)
    done_since = 0
    if base is not None:
        done_since = sum(
            1
            for route in base.routes
            for stop in route.stops
            if stop.done_at is not None and stop.done_at >= draft.created_at
        )
    base_done = {
        (stop.parcel_id, stop.side): (stop.status is not StopStatus.PLANNED)
        for route in (base.routes if base is not None else ())
        for stop in route.stops
    }
    moved, retimed, planned = [], [], []
    unchanged = 0
    for key, (plate, eta, late, kind) in sorted(after.items()):
        old = before.get(key)
        change = StopChange(
            key[0],
            kind,
            old[0] if old else None,
            plate,
            old[1] if old else None,
            eta,
            late,
        )
        finished = base_done.get(key, False)
        if old is None:
            planned.append(change)
        elif finished:
            # Done since the draft was made: publishing drops it; it is
            # counted in ``done_since``, not as a change.
            continue
        elif old[0] != plate:
            moved.append(change)
        elif abs(eta - old[1]) >= ETA_NOTICE:
            retimed.append(change)
        else:
            unchanged += 1
    served_before = {parcel for parcel, _ in before}
    served_after = {parcel for parcel, _ in after}
    newly: list[UnservedChange] = []
    still: list[UnservedChange] = []
    for item in draft.unserved:
        left_out = UnservedChange(item.parcel_id, item.reason, item.explanation)
        if item.parcel_id in served_before and item.parcel_id not in served_after:
            newly.append(left_out)
        else:
            still.append(left_out)
    return PlanDiff(
        draft_version=draft.version,
        base_version=draft.base_version,
        moved=tuple(moved),
        retimed=tuple(retimed),
        newly_planned=tuple(planned),
        newly_unserved=tuple(newly),
        still_unserved=tuple(still),
        unchanged=unchanged,
        done_since=done_since,
    )


def _open_stops(
    plan: Plan, *, since: datetime | None = None
) -> dict[tuple[int, str], tuple[str, datetime, bool, StopKind]]:
    stops: dict[tuple[int, str], tuple[str, datetime, bool, StopKind]] = {}
    for route in plan.routes:
        for stop in route.stops:
            done_since = (
                since is not None and stop.done_at is not None and stop.done_at >= since
            )
            if stop.status is not StopStatus.PLANNED and not done_since:
                continue
            stops[(stop.parcel_id, stop.side)] = (
                route.vehicle.plate,
                stop.eta,
                stop.late,
                stop.kind,
            )
    return stops
