"""Components follow their open incidents.

A component an incident holds shows the worst impact of every open incident
holding it, declared by hand (held) so health probes do not overwrite it.
When the last incident lets go, it is declared operational, which hands it
back to its probes (see ``health.service.set_component_state``).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from controlroom.errors import HealthError, IncidentError
from controlroom.health.models import Component, ComponentState
from controlroom.health.service import get_component, set_component_state
from controlroom.incidents.models import AffectedComponent, Incident
from controlroom.incidents.rules import checked_impact, checked_time, worst_impact
from controlroom.journal import append_event


def find_component(session: Session, key: str) -> Component:
    """Return the component ``key`` or raise an ``IncidentError`` naming it."""
    try:
        return get_component(session, key=key)
    except HealthError:
        known = session.scalars(select(Component.key).order_by(Component.key)).all()
        raise IncidentError(
            f"There is no component called {key!r}; known components: "
            f"{', '.join(known) or 'none yet'}."
        ) from None


def holding(session: Session, incident: Incident) -> list[AffectedComponent]:
    """Return the incident's current attachments, oldest first."""
    return list(
        session.scalars(
            select(AffectedComponent)
            .where(
                AffectedComponent.incident_id == incident.id,
                AffectedComponent.detached_at.is_(None),
            )
            .order_by(AffectedComponent.id)
        )
    )


def attach_component(
    session: Session,
    *,
    incident: Incident,
    key: str,
    impact: ComponentState,
    at: datetime,
    actor: str,
) -> AffectedComponent:
    """Let the incident hold a component at ``impact``; journal it."""
    at = checked_time(at, not_before=incident.started_at)
    component = find_component(session, key)
    checked_impact(impact, key)
    if not incident.is_open:
        raise IncidentError(
            f"Incident {incident.id} is resolved; reopen it before attaching {key}."
        )
    current = next(
        (a for a in holding(session, incident) if a.component_id == component.id),
        None,
    )
    if current is not None and current.impact is impact:
        raise IncidentError(
            f"Incident {incident.id} already holds {component.name} at "
            f"{impact.label.lower()}."
        )

    if current is not None:
        # A changed impact closes the old attachment so the history keeps it.
        current.detached_at = at
    attachment = AffectedComponent(
        incident_id=incident.id,
        component_id=component.id,
        impact=impact,
        attached_at=at,
    )
    session.add(attachment)
    session.flush()
    append_event(
        session,
        kind="IncidentComponentAttached",
        subject=incident.subject,
        actor=actor,
        occurred_at=at,
        payload={"component": key, "impact": impact},
    )
    settle_component(session, component=component, at=at, actor=actor)
    return attachment


def detach_component(
    session: Session, *, incident: Incident, key: str, at: datetime, actor: str
) -> None:
    """Let go of a component; it returns to what other open incidents hold."""
    at = checked_time(at, not_before=incident.started_at)
    component = find_component(session, key)
    current = next(
        (a for a in holding(session, incident) if a.component_id == component.id),
        None,
    )
    if current is None:
        raise IncidentError(
            f"Incident {incident.id} does not hold {component.name}; nothing to detach."
        )

    current.detached_at = at
    session.flush()
    append_event(
        session,
        kind="IncidentComponentDetached",
        subject=incident.subject,
        actor=actor,
        occurred_at=at,
        payload={"component": key},
    )
    settle_component(session, component=component, at=at, actor=actor)


def settle_component(
    session: Session, *, component: Component, at: datetime, actor: str
) -> None:
    """Set the component to the worst impact any open incident puts on it."""
    # Resolving an incident detaches its components, so the attachments
    # still open are exactly those of open incidents.
    impacts = session.scalars(
        select(AffectedComponent.impact).where(
            AffectedComponent.component_id == component.id,
            AffectedComponent.detached_at.is_(None),
        )
    ).all()
    state = worst_impact(list(impacts))
    set_component_state(
        session,
        component=component,
        state=state,
        at=at,
        actor=actor,
        note="" if state is ComponentState.OPERATIONAL else "held by an incident",
        hold=True,
    )
