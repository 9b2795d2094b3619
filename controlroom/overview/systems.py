"""Components as the health map and the health screen show them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from controlroom.health.models import Component, ComponentState, HealthReport

# The function each kind of component serves, as the health map groups them.
FUNCTIONS = {
    "web_shop": "Ordering",
    "order_db_primary": "Ordering",
    "order_db_standby": "Ordering",
    "payment_node": "Payments",
    "payment_tracker": "Payments",
    "route_scheduler": "Dispatch",
    "driver_app": "Status & messages",
    "sms_gateway": "Status & messages",
    "status_site": "Status & messages",
}


@dataclass(frozen=True)
class ComponentRow:
    """A component's current state and its latest probe."""

    key: str
    name: str
    kind: str
    function: str
    region: str
    provider: str
    state: ComponentState
    since: datetime
    note: str
    latency_ms: int | None
    probed_at: datetime | None
    held_by: str | None = None


def component_rows(session: Session) -> list[ComponentRow]:
    """Return every component with its latest probe's latency, in one query."""
    latest = (
        select(HealthReport.id)
        .where(HealthReport.component_id == Component.id)
        .order_by(HealthReport.at.desc(), HealthReport.id.desc())
        .limit(1)
        .correlate(Component)
        .scalar_subquery()
    )
    query = (
        select(
            Component.key,
            Component.name,
            Component.kind,
            Component.region,
            Component.provider,
            Component.state,
            Component.state_since,
            Component.note,
            Component.held_by,
            HealthReport.latency_ms,
            HealthReport.at,
        )
        .select_from(Component)
        .outerjoin(HealthReport, HealthReport.id == latest)
        .order_by(Component.id)
    )
    return [
        ComponentRow(
            key=key,
            name=name,
            kind=kind.value,
            function=FUNCTIONS.get(kind.value, "Other"),
            region=region,
            provider=provider,
            state=state,
            since=since,
            note=note,
            latency_ms=latency,
            probed_at=probed_at,
            held_by=held_by,
        )
        for (
            key,
            name,
            kind,
            region,
            provider,
            state,
            since,
            note,
            held_by,
            latency,
            probed_at,
        ) in session.connection().execute(query).all()
    ]
