"""Incidents given a session: open, move through the lifecycle, staff, report.

Every change is journalled under the subject ``incident:N`` in the caller's
transaction. Input is checked before anything is written, so a refused
change leaves no trace. The open call's queue, participants and decisions
live in :mod:`controlroom.incidents.call`; components in
:mod:`controlroom.incidents.components`.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, tzinfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from controlroom.errors import IncidentError
from controlroom.health.models import Component, ComponentState
from controlroom.incidents.cadence import Severity, cadence_for, no_change_report
from controlroom.incidents.call import (
    act_on_item,
    hear_item,
    join_call,
    leave_call,
    raise_call_item,
    record_decision,
)
from controlroom.incidents.components import (
    attach_component,
    detach_component,
    find_component,
    holding,
    settle_component,
)
from controlroom.incidents.models import (
    AffectedComponent,
    CallItem,
    CallItemKind,
    Incident,
    IncidentNote,
    IncidentRole,
    IncidentStatus,
    ProgressReport,
    RoleTerm,
    StatusTransition,
    Visibility,
)
from controlroom.incidents.rules import (
    check_move,
    checked_impact,
    checked_text,
    checked_time,
)
from controlroom.journal import append_event

# The call's and the components' services are re-exported: callers need to
# know one service module.
__all__ = [
    "CallItem",
    "CallItemKind",
    "Incident",
    "IncidentStatus",
    "ProgressReport",
    "Visibility",
    "act_on_item",
    "add_note",
    "assign_role",
    "attach_component",
    "change_severity",
    "change_status",
    "current_incident",
    "current_roles",
    "detach_component",
    "get_incident",
    "hear_item",
    "join_call",
    "last_report",
    "leave_call",
    "open_incident",
    "open_incidents",
    "raise_call_item",
    "record_decision",
    "record_no_change_report",
    "record_progress_report",
    "reopen_incident",
]


def open_incident(
    session: Session,
    *,
    title: str,
    kind: str,
    severity: Severity,
    visibility: Visibility,
    summary: str,
    at: datetime,
    actor: str,
    components: Mapping[str, ComponentState] | None = None,
) -> Incident:
    """Open an incident, investigating from ``at``, holding ``components``."""
    title = checked_text(title, "incident title", limit=160)
    kind = checked_text(kind, "incident kind", limit=64)
    summary = checked_text(summary, "status sentence", limit=240)
    at = checked_time(at)
    held = dict(components or {})
    for key, impact in held.items():
        find_component(session, key)
        checked_impact(impact, key)

    incident = Incident(
        title=title,
        kind=kind,
        severity=Severity(severity),
        status=IncidentStatus.INVESTIGATING,
        visibility=Visibility(visibility),
        started_at=at,
        summary=summary,
        opened_by=actor,
    )
    session.add(incident)
    session.flush()
    session.add(
        StatusTransition(
            incident_id=incident.id,
            from_status=None,
            to_status=IncidentStatus.INVESTIGATING,
            at=at,
            actor=actor,
            note="opened",
        )
    )
    append_event(
        session,
        kind="IncidentOpened",
        subject=incident.subject,
        actor=actor,
        occurred_at=at,
        payload={
            "title": title,
            "kind": kind,
            "severity": incident.severity,
            "visibility": incident.visibility,
            "summary": summary,
        },
    )
    for key, impact in held.items():
        attach_component(
            session, incident=incident, key=key, impact=impact, at=at, actor=actor
        )
    return incident


def get_incident(session: Session, *, incident_id: int) -> Incident:
    """Return incident ``incident_id`` or raise a readable error."""
    incident = session.get(Incident, incident_id)
    if incident is None:
        raise IncidentError(f"There is no incident {incident_id}.")
    return incident


def _last_change(session: Session, incident: Incident) -> datetime:
    last = session.scalar(
        select(StatusTransition.at)
        .where(StatusTransition.incident_id == incident.id)
        .order_by(StatusTransition.at.desc())
        .limit(1)
    )
    return last or incident.started_at


def change_status(
    session: Session,
    *,
    incident: Incident,
    status: IncidentStatus,
    at: datetime,
    actor: str,
    note: str = "",
    summary: str | None = None,
) -> StatusTransition:
    """Move the incident to ``status``; resolving lets go of its components."""
    at = checked_time(at, not_before=_last_change(session, incident))
    check_move(incident.id, incident.status, status, note)
    if summary is not None:
        summary = checked_text(summary, "status sentence", limit=240)

    transition = _move(session, incident, status, at=at, actor=actor, note=note)
    if summary is not None:
        incident.summary = summary
    append_event(
        session,
        kind=(
            "IncidentResolved"
            if status is IncidentStatus.RESOLVED
            else "IncidentStatusChanged"
        ),
        subject=incident.subject,
        actor=actor,
        occurred_at=at,
        payload={
            "from": transition.from_status,
            "to": status,
            "note": note,
            "summary": incident.summary,
        },
    )
    if status is IncidentStatus.RESOLVED:
        incident.resolved_at = at
        for attachment in holding(session, incident):
            attachment.detached_at = at
            session.flush()
            settle_component(
                session, component=_component(session, attachment), at=at, actor=actor
            )
    return transition


def reopen_incident(
    session: Session,
    *,
    incident: Incident,
    at: datetime,
    actor: str,
    reason: str,
    status: IncidentStatus = IncidentStatus.INVESTIGATING,
) -> StatusTransition:
    """Reopen a resolved incident; it holds again what it held when resolved."""
    at = checked_time(at, not_before=_last_change(session, incident))
    reason = checked_text(reason, "reason to reopen", limit=300)
    if incident.is_open:
        raise IncidentError(
            f"Incident {incident.id} is not resolved ({incident.status.value}); "
            f"only a resolved incident can be reopened."
        )
    if status is IncidentStatus.RESOLVED:
        raise IncidentError("Reopen into an open status, not resolved.")

    resolved_at = incident.resolved_at
    released = session.scalars(
        select(AffectedComponent).where(
            AffectedComponent.incident_id == incident.id,
            AffectedComponent.detached_at == resolved_at,
        )
    ).all()
    transition = _move(session, incident, status, at=at, actor=actor, note=reason)
    incident.resolved_at = None
    append_event(
        session,
        kind="IncidentReopened",
        subject=incident.subject,
        actor=actor,
        occurred_at=at,
        payload={"to": status, "reason": reason},
    )
    for attachment in released:
        attach_component(
            session,
            incident=incident,
            key=_component(session, attachment).key,
            impact=attachment.impact,
            at=at,
            actor=actor,
        )
    return transition


def _move(
    session: Session,
    incident: Incident,
    status: IncidentStatus,
    *,
    at: datetime,
    actor: str,
    note: str,
) -> StatusTransition:
    transition = StatusTransition(
        incident_id=incident.id,
        from_status=incident.status,
        to_status=status,
        at=at,
        actor=actor,
        note=note.strip()[:300],
    )
    session.add(transition)
    incident.status = status
    session.flush()
    return transition


def _component(session: Session, attachment: AffectedComponent) -> Component:
    component = session.get(Component, attachment.component_id)
    assert component is not None  # a foreign key guarantees it
    return component


def change_severity(
    session: Session,
    *,
    incident: Incident,
    severity: Severity,
    at: datetime,
    actor: str,
    note: str = "",
) -> None:
    """Raise or lower the incident's severity; the report cadence follows."""
    at = checked_time(at, not_before=incident.started_at)
    severity = Severity(severity)
    if not incident.is_open:
        raise IncidentError(
            f"Incident {incident.id} is resolved; its severity is part of the record."
        )
    if severity is incident.severity:
        raise IncidentError(f"Incident {incident.id} is already {severity.label}.")

    previous, incident.severity = incident.severity, severity
    append_event(
        session,
        kind="IncidentSeverityChanged",
        subject=incident.subject,
        actor=actor,
        occurred_at=at,
        payload={"from": previous, "to": severity, "note": note.strip()},
    )


def current_roles(
    session: Session, *, incident: Incident
) -> dict[IncidentRole, RoleTerm]:
    """Return the term of each role's current holder."""
    terms = session.scalars(
        select(RoleTerm).where(
            RoleTerm.incident_id == incident.id, RoleTerm.until.is_(None)
        )
    ).all()
    return {term.role: term for term in terms}


def assign_role(
    session: Session,
    *,
    incident: Incident,
    role: IncidentRole,
    holder: str,
    at: datetime,
    actor: str,
) -> RoleTerm:
    """Give ``role`` to ``holder``; the previous holder's term ends at ``at``."""
    at = checked_time(at, not_before=incident.started_at)
    holder = checked_text(holder, "name of the role's holder", limit=80)
    role = IncidentRole(role)
    if not incident.is_open:
        raise IncidentError(
            f"Incident {incident.id} is resolved; reopen it before handing over roles."
        )
    previous = current_roles(session, incident=incident).get(role)
    if previous is not None and previous.holder == holder:
        raise IncidentError(f"{holder} is already {role.label.lower()}.")
    if previous is not None and at < previous.since:
        raise IncidentError(
            f"{previous.holder} became {role.label.lower()} at "
            f"{previous.since:%H:%M} UTC; a hand-over cannot come before that."
        )

    if previous is not None:
        previous.until = at
        previous.handed_over_by = actor
    term = RoleTerm(
        incident_id=incident.id,
        role=role,
        holder=holder,
        since=at,
        assigned_by=actor,
    )
    session.add(term)
    session.flush()
    append_event(
        session,
        kind="IncidentRoleAssigned",
        subject=incident.subject,
        actor=actor,
        occurred_at=at,
        payload={
            "role": role,
            "holder": holder,
            "from": previous.holder if previous else None,
        },
    )
    return term


def add_note(
    session: Session, *, incident: Incident, text: str, at: datetime, actor: str
) -> IncidentNote:
    """Write a line into the incident's timeline."""
    at = checked_time(at, not_before=incident.started_at)
    text = checked_text(text, "note", limit=2000)

    note = IncidentNote(incident_id=incident.id, at=at, author=actor, text=text)
    session.add(note)
    session.flush()
    append_event(
        session,
        kind="IncidentNoteAdded",
        subject=incident.subject,
        actor=actor,
        occurred_at=at,
        payload={"note_id": note.id},
    )
    return note


def last_report(session: Session, *, incident: Incident) -> ProgressReport | None:
    """Return the incident's latest progress report, if any."""
    return session.scalar(
        select(ProgressReport)
        .where(ProgressReport.incident_id == incident.id)
        .order_by(ProgressReport.at.desc(), ProgressReport.id.desc())
        .limit(1)
    )


def record_progress_report(
    session: Session,
    *,
    incident: Incident,
    text: str,
    at: datetime,
    actor: str,
    public: bool,
    no_change: bool = False,
) -> ProgressReport:
    """Record a progress report; it resets the report cadence from ``at``.

    A public report reaches the status site only while the incident itself
    is public (see :mod:`controlroom.incidents.public`).
    """
    at = checked_time(at, not_before=incident.started_at)
    text = checked_text(text, "progress report", limit=1000)
    previous = last_report(session, incident=incident)
    if previous is not None and at < previous.at:
        raise IncidentError(
            f"The last report was at {previous.at:%H:%M} UTC; a new one cannot "
            f"come before it."
        )

    report = ProgressReport(
        incident_id=incident.id,
        text=text,
        at=at,
        by=actor,
        status=incident.status,
        public=public,
        no_change=no_change,
    )
    session.add(report)
    session.flush()
    append_event(
        session,
        kind="IncidentProgressReported",
        subject=incident.subject,
        actor=actor,
        occurred_at=at,
        payload={"text": text, "public": public, "no_change": no_change},
    )
    return report


def record_no_change_report(
    session: Session,
    *,
    incident: Incident,
    at: datetime,
    actor: str,
    zone: tzinfo,
    public: bool | None = None,
) -> ProgressReport:
    """Record the short "no change, next update at ..." report in one action.

    It is public when the incident is, unless ``public`` says otherwise.
    """
    at = checked_time(at, not_before=incident.started_at)
    previous = last_report(session, incident=incident)
    since = previous.at if previous is not None else incident.started_at
    next_due = at + cadence_for(incident.severity).interval
    text = no_change_report(last_report_at=since, next_due=next_due, zone=zone)
    if public is None:
        public = incident.visibility is Visibility.PUBLIC
    return record_progress_report(
        session,
        incident=incident,
        text=text,
        at=at,
        actor=actor,
        public=public,
        no_change=True,
    )


def open_incidents(session: Session) -> list[Incident]:
    """Return open incidents, most severe first, then oldest first."""
    return list(
        session.scalars(
            select(Incident)
            .where(Incident.status != IncidentStatus.RESOLVED)
            # "sev1" sorts before "sev2": the string order is the severity order.
            .order_by(Incident.severity, Incident.started_at, Incident.id)
        )
    )


def resolved_incidents(session: Session, *, limit: int = 20) -> list[Incident]:
    """Return the newest resolved incidents, the last resolved first."""
    return list(
        session.scalars(
            select(Incident)
            .where(Incident.status == IncidentStatus.RESOLVED)
            .order_by(Incident.resolved_at.desc(), Incident.id.desc())
            .limit(limit)
        )
    )


def current_incident(session: Session) -> Incident | None:
    """Return the most severe open incident (the oldest of equals), if any."""
    incidents = open_incidents(session)
    return incidents[0] if incidents else None
