"""Incident rules with no I/O: which status moves make sense, checked input.

The lifecycle follows the status-page convention (investigating, identified,
monitoring, resolved). Moving forward may skip a step -- a cause found and
fixed in one go goes straight to monitoring -- but moving back needs a note
saying why, and a resolved incident only comes back by an explicit reopen,
so a stray click cannot undo a resolution.
"""

from __future__ import annotations

from datetime import UTC, datetime

from controlroom.errors import IncidentError
from controlroom.health.models import ComponentState
from controlroom.incidents.models import IncidentStatus

ORDER = (
    IncidentStatus.INVESTIGATING,
    IncidentStatus.IDENTIFIED,
    IncidentStatus.MONITORING,
    IncidentStatus.RESOLVED,
)

# How bad each impact is, to pick the worst of several incidents holding one
# component. Maintenance is planned, so it ranks below any unplanned harm.
IMPACT_RANK = {
    ComponentState.OPERATIONAL: 0,
    ComponentState.UNDER_MAINTENANCE: 1,
    ComponentState.DEGRADED_PERFORMANCE: 2,
    ComponentState.PARTIAL_OUTAGE: 3,
    ComponentState.MAJOR_OUTAGE: 4,
}


def check_move(
    number: int, current: IncidentStatus, target: IncidentStatus, note: str
) -> None:
    """Raise ``IncidentError`` unless ``current -> target`` is a sensible move."""
    if target is current:
        raise IncidentError(f"Incident {number} is already {target.value}.")
    if current is IncidentStatus.RESOLVED:
        raise IncidentError(
            f"Incident {number} is resolved; reopen it (an explicit action, "
            f"with a reason) instead of changing its status."
        )
    backwards = ORDER.index(target) < ORDER.index(current)
    if backwards and not note.strip():
        raise IncidentError(
            f"Moving incident {number} back from {current.value} to "
            f"{target.value} needs a note saying why (for example: the fix "
            f"did not hold)."
        )


def worst_impact(impacts: list[ComponentState]) -> ComponentState:
    """Return the worst of ``impacts``; operational when there are none."""
    return max(impacts, key=IMPACT_RANK.__getitem__, default=ComponentState.OPERATIONAL)


def checked_impact(impact: ComponentState, key: str) -> ComponentState:
    """Refuse an impact that would change nothing."""
    if impact is ComponentState.OPERATIONAL:
        raise IncidentError(
            f"An incident cannot hold {key} at 'operational'; pick the state "
            f"it puts the component in (degraded performance, partial or "
            f"major outage, under maintenance)."
        )
    return impact


def checked_text(text: str, what: str, *, limit: int) -> str:
    """Return ``text`` stripped, or raise if it is empty or too long."""
    text = text.strip()
    if not text:
        raise IncidentError(f"The {what} is empty; write a few words.")
    if len(text) > limit:
        raise IncidentError(
            f"The {what} is {len(text)} characters long; keep it within {limit}."
        )
    return text


def checked_time(at: datetime, *, not_before: datetime | None = None) -> datetime:
    """Return ``at`` in UTC; refuse a naive time or one before ``not_before``."""
    if at.tzinfo is None or at.utcoffset() is None:
        raise IncidentError(
            f"The time {at.isoformat()} has no time zone; incident times must "
            f"be timezone-aware."
        )
    at = at.astimezone(UTC)
    if not_before is not None and at < not_before:
        raise IncidentError(
            f"{at:%Y-%m-%d %H:%M} UTC is before {not_before:%Y-%m-%d %H:%M} UTC, "
            f"when the incident's last change happened; check the clock."
        )
    return at
