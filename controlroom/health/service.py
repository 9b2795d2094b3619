"""Components and their health, given a session."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from controlroom.errors import HealthError
from controlroom.health.models import (
    Component,
    ComponentKind,
    ComponentState,
    HealthReport,
)
from controlroom.health.posture import ComponentStatus, Posture, derive_posture
from controlroom.journal import append_event


def add_component(
    session: Session,
    *,
    key: str,
    name: str,
    kind: ComponentKind,
    at: datetime,
    actor: str,
    region: str = "",
    provider: str = "",
) -> Component:
    """Register a component, operational from ``at``."""
    component = Component(
        key=key,
        name=name,
        kind=kind,
        region=region,
        provider=provider,
        state=ComponentState.OPERATIONAL,
        state_since=at,
    )
    session.add(component)
    session.flush()
    append_event(
        session,
        kind="ComponentAdded",
        subject=component.subject,
        actor=actor,
        occurred_at=at,
        payload={"name": name, "kind": kind, "region": region, "provider": provider},
    )
    return component


def get_component(session: Session, *, key: str) -> Component:
    """Return the component with ``key`` or raise a readable error."""
    component = session.scalar(select(Component).where(Component.key == key))
    if component is None:
        raise HealthError(f"There is no component called {key!r}.")
    return component


def set_component_state(
    session: Session,
    *,
    component: Component,
    state: ComponentState,
    at: datetime,
    actor: str,
    note: str = "",
    hold: bool = False,
) -> bool:
    """Change a component's state and journal it; return whether it changed.

    ``hold`` marks a state a person declared: probes then leave it alone
    until :func:`release_component` hands the component back to them, or a
    person declares it operational.
    """
    if hold and state is ComponentState.OPERATIONAL:
        # A person declaring "operational" ends the incident for this
        # component: the probes take over again, so a later real outage shows.
        held_by = None
    else:
        held_by = actor if hold else component.held_by
    if not note and state is component.state:
        note = component.note  # re-declaring the same state keeps its note
    unchanged = (component.state, component.note, component.held_by)
    if unchanged == (state, note, held_by):
        return False
    previous = component.state
    component.state = state
    component.note = note
    component.held_by = held_by
    if previous is not state:
        component.state_since = at
    append_event(
        session,
        kind="ComponentStateChanged",
        subject=component.subject,
        actor=actor,
        occurred_at=at,
        payload={"from": previous, "to": state, "note": note, "held": hold},
    )
    return True


def release_component(
    session: Session, *, component: Component, at: datetime, actor: str
) -> None:
    """Hand a held component back to its health probes; journal it."""
    if component.held_by is None:
        raise HealthError(f"{component.name} is not held: its probes already set it.")
    held_by, component.held_by = component.held_by, None
    append_event(
        session,
        kind="ComponentReleased",
        subject=component.subject,
        actor=actor,
        occurred_at=at,
        payload={"held_by": held_by, "state": component.state},
    )


def report_health(
    session: Session,
    *,
    component: Component,
    state: ComponentState,
    at: datetime,
    actor: str,
    latency_ms: int | None = None,
    detail: str = "",
) -> bool:
    """Store a probe result; a change of state is journalled. Return if changed.

    A component whose state a person holds keeps it; the report is stored.
    """
    session.add(
        HealthReport(
            component_id=component.id,
            at=at,
            state=state,
            latency_ms=latency_ms,
            detail=detail,
        )
    )
    if component.held_by is not None or component.state is state:
        return False
    return set_component_state(
        session, component=component, state=state, at=at, actor=actor, note=detail
    )


def component_statuses(session: Session) -> list[ComponentStatus]:
    """Return every component's current state, for the posture rules."""
    rows = session.scalars(select(Component).order_by(Component.id)).all()
    return [ComponentStatus(c.key, c.name, c.kind, c.state) for c in rows]


def current_posture(session: Session) -> Posture:
    """Derive the operating posture from the stored component states."""
    return derive_posture(component_statuses(session))
