"""What the public status site may show of incidents, and nothing else.

Only incidents marked public, and of those only the progress reports marked
public, leave through here: the title, severity, status, times, the names of
the affected components and the public updates. Notes, decisions, the call
and its people stay inside the control room.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from controlroom.health.models import Component
from controlroom.incidents.models import (
    AffectedComponent,
    Incident,
    IncidentStatus,
    ProgressReport,
    Visibility,
)


@dataclass(frozen=True)
class PublicUpdate:
    """One public progress report."""

    at: datetime
    status: IncidentStatus
    text: str


@dataclass(frozen=True)
class PublicIncident:
    """A public incident as the status site shows it."""

    title: str
    severity_label: str
    status: IncidentStatus
    started_at: datetime
    resolved_at: datetime | None
    components: tuple[str, ...]  # component names, not keys
    updates: tuple[PublicUpdate, ...]  # newest first


def public_incidents(session: Session, *, since: datetime) -> list[PublicIncident]:
    """Return public incidents open now or resolved after ``since``, newest first."""
    incidents = session.scalars(
        select(Incident)
        .where(
            Incident.visibility == Visibility.PUBLIC,
            or_(Incident.resolved_at.is_(None), Incident.resolved_at > since),
        )
        .order_by(Incident.started_at.desc(), Incident.id.desc())
    ).all()
    return [_public(session, incident) for incident in incidents]


def _public(session: Session, incident: Incident) -> PublicIncident:
    reports: Sequence[ProgressReport] = session.scalars(
        select(ProgressReport)
        .where(
            ProgressReport.incident_id == incident.id,
            ProgressReport.public.is_(True),
        )
        .order_by(ProgressReport.at.desc(), ProgressReport.id.desc())
    ).all()
    # Every component the incident ever held: a resolved incident still
    # says what it affected.
    names = session.scalars(
        select(Component.name)
        .join(AffectedComponent, AffectedComponent.component_id == Component.id)
        .where(AffectedComponent.incident_id == incident.id)
        .distinct()
        .order_by(Component.name)
    ).all()
    return PublicIncident(
        title=incident.title,
        severity_label=incident.severity.label,
        status=incident.status,
        started_at=incident.started_at,
        resolved_at=incident.resolved_at,
        components=tuple(names),
        updates=tuple(PublicUpdate(r.at, r.status, r.text) for r in reports),
    )
