"""What people may do from the incident call screen, by role.

Each function checks the role, opens its own transaction (a page is an
entry point), takes the time from the operating clock and hands over to the
incident services. Each returns the sentence the screen shows when it
worked. Everyone who may open the screen may bring items to the call, hear
and act on them and write notes; only management leads the incident: opens
and resolves it, sets its severity, hands out roles, decides and reports.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from controlroom.auth.models import Role
from controlroom.clock import operating_now
from controlroom.health.models import ComponentState
from controlroom.incidents import service
from controlroom.incidents.cadence import Severity
from controlroom.incidents.call import get_call_item
from controlroom.incidents.models import (
    CallItemKind,
    Incident,
    IncidentRole,
    IncidentStatus,
    Visibility,
)
from controlroom.session_frame import SignedInUser, require_role

CALL_MEMBERS = frozenset({Role.MANAGEMENT, Role.OPS, Role.DISPATCHER})
INCIDENT_LEADS = frozenset({Role.MANAGEMENT})


@contextmanager
def _changing(
    engine: Engine,
    user: SignedInUser,
    allowed: frozenset[Role],
    doing: str,
    incident_id: int,
) -> Iterator[tuple[Session, Incident, datetime]]:
    """Check the role, then yield the incident in one transaction, and the time."""
    require_role(user, allowed, doing)
    with Session(engine) as session, session.begin():
        incident = service.get_incident(session, incident_id=incident_id)
        yield session, incident, operating_now(session)


def open_new(
    engine: Engine,
    *,
    user: SignedInUser,
    title: str,
    kind: str,
    severity: Severity,
    visibility: Visibility,
    summary: str,
    components: Mapping[str, ComponentState],
) -> str:
    """Open an incident as management."""
    require_role(user, INCIDENT_LEADS, "open an incident")
    with Session(engine) as session, session.begin():
        incident = service.open_incident(
            session,
            title=title,
            kind=kind,
            severity=severity,
            visibility=visibility,
            summary=summary,
            components=components,
            at=operating_now(session),
            actor=user.username,
        )
        return f"Opened incident {incident.id}: {incident.title}."


def move(
    engine: Engine,
    *,
    user: SignedInUser,
    incident_id: int,
    status: IncidentStatus,
    note: str,
    summary: str | None = None,
) -> str:
    """Change the incident's status (resolving included) as management."""
    action = (
        "resolve an incident"
        if status is IncidentStatus.RESOLVED
        else ("change an incident's status")
    )
    with _changing(engine, user, INCIDENT_LEADS, action, incident_id) as (
        session,
        incident,
        at,
    ):
        service.change_status(
            session,
            incident=incident,
            status=status,
            note=note,
            summary=summary or None,
            at=at,
            actor=user.username,
        )
        return f"Incident {incident_id} is now {status.value}."


def reopen(engine: Engine, *, user: SignedInUser, incident_id: int, reason: str) -> str:
    """Reopen a resolved incident as management."""
    with _changing(engine, user, INCIDENT_LEADS, "reopen an incident", incident_id) as (
        session,
        incident,
        at,
    ):
        service.reopen_incident(
            session,
            incident=incident,
            reason=reason,
            at=at,
            actor=user.username,
        )
        return f"Incident {incident_id} is reopened."


def set_severity(
    engine: Engine, *, user: SignedInUser, incident_id: int, severity: Severity
) -> str:
    """Change the incident's severity as management."""
    with _changing(
        engine, user, INCIDENT_LEADS, "change an incident's severity", incident_id
    ) as (session, incident, at):
        service.change_severity(
            session,
            incident=incident,
            severity=severity,
            at=at,
            actor=user.username,
        )
        return f"Incident {incident_id} is now {severity.label}."


def hand_over(
    engine: Engine,
    *,
    user: SignedInUser,
    incident_id: int,
    role: IncidentRole,
    holder: str,
) -> str:
    """Give an incident role to someone as management."""
    with _changing(
        engine, user, INCIDENT_LEADS, "assign incident roles", incident_id
    ) as (session, incident, at):
        term = service.assign_role(
            session,
            incident=incident,
            role=role,
            holder=holder,
            at=at,
            actor=user.username,
        )
        return f"{term.holder} is now {role.label.lower()}."


def report(
    engine: Engine, *, user: SignedInUser, incident_id: int, text: str, public: bool
) -> str:
    """Record a progress report as management."""
    with _changing(
        engine, user, INCIDENT_LEADS, "record a progress report", incident_id
    ) as (session, incident, at):
        service.record_progress_report(
            session,
            incident=incident,
            text=text,
            public=public,
            at=at,
            actor=user.username,
        )
        return "Progress report recorded."


def report_no_change(
    engine: Engine, *, user: SignedInUser, incident_id: int, zone: str
) -> str:
    """Record the one-click "no change, next update at ..." report."""
    with _changing(
        engine, user, INCIDENT_LEADS, "record a progress report", incident_id
    ) as (session, incident, at):
        recorded = service.record_no_change_report(
            session,
            incident=incident,
            zone=ZoneInfo(zone),
            at=at,
            actor=user.username,
        )
        return f"Reported: {recorded.text}"


def decide(engine: Engine, *, user: SignedInUser, incident_id: int, text: str) -> str:
    """Write down a decision as management."""
    with _changing(engine, user, INCIDENT_LEADS, "record a decision", incident_id) as (
        session,
        incident,
        at,
    ):
        service.record_decision(
            session,
            incident=incident,
            text=text,
            decided_by=user.display_name or user.username,
            at=at,
            actor=user.username,
        )
        return "Decision recorded."


def attach(
    engine: Engine,
    *,
    user: SignedInUser,
    incident_id: int,
    key: str,
    impact: ComponentState,
) -> str:
    """Let the incident hold a component, as management."""
    with _changing(
        engine, user, INCIDENT_LEADS, "attach a component to an incident", incident_id
    ) as (session, incident, at):
        service.attach_component(
            session,
            incident=incident,
            key=key,
            impact=impact,
            at=at,
            actor=user.username,
        )
        return f"Incident {incident_id} holds {key} at {impact.label.lower()}."


def detach(engine: Engine, *, user: SignedInUser, incident_id: int, key: str) -> str:
    """Let go of a component, as management."""
    with _changing(
        engine, user, INCIDENT_LEADS, "detach a component from an incident", incident_id
    ) as (session, incident, at):
        service.detach_component(
            session,
            incident=incident,
            key=key,
            at=at,
            actor=user.username,
        )
        return f"Incident {incident_id} lets go of {key}."


def bring_item(
    engine: Engine,
    *,
    user: SignedInUser,
    incident_id: int,
    kind: CallItemKind,
    raised_by: str,
    text: str,
) -> str:
    """Queue a caller's problem, idea or question."""
    with _changing(
        engine, user, CALL_MEMBERS, "add to the call-in queue", incident_id
    ) as (session, incident, at):
        item = service.raise_call_item(
            session,
            incident=incident,
            kind=kind,
            raised_by=raised_by,
            text=text,
            at=at,
            actor=user.username,
        )
        return f"Queued {kind.value} {item.id} from {item.raised_by}."


def hear(engine: Engine, *, user: SignedInUser, item_id: int) -> str:
    """Mark a queued item heard."""
    require_role(user, CALL_MEMBERS, "work the call-in queue")
    with Session(engine) as session, session.begin():
        item = get_call_item(session, item_id=item_id)
        service.hear_item(
            session, item=item, at=operating_now(session), actor=user.username
        )
        return f"Item {item_id} heard."


def act(engine: Engine, *, user: SignedInUser, item_id: int, action: str) -> str:
    """Record what was done about a queued item."""
    require_role(user, CALL_MEMBERS, "work the call-in queue")
    with Session(engine) as session, session.begin():
        item = get_call_item(session, item_id=item_id)
        service.act_on_item(
            session,
            item=item,
            action=action,
            at=operating_now(session),
            actor=user.username,
        )
        return f"Item {item_id} acted on."


def note(engine: Engine, *, user: SignedInUser, incident_id: int, text: str) -> str:
    """Write a note into the incident's timeline."""
    with _changing(engine, user, CALL_MEMBERS, "add a timeline note", incident_id) as (
        session,
        incident,
        at,
    ):
        service.add_note(
            session,
            incident=incident,
            text=text,
            at=at,
            actor=user.username,
        )
        return "Note added."


def join(engine: Engine, *, user: SignedInUser, incident_id: int, name: str) -> str:
    """Put someone on the call."""
    with _changing(
        engine, user, CALL_MEMBERS, "update who is on the call", incident_id
    ) as (session, incident, at):
        service.join_call(
            session,
            incident=incident,
            name=name,
            at=at,
            actor=user.username,
        )
        return f"{name.strip()} joined the call."


def leave(engine: Engine, *, user: SignedInUser, incident_id: int, name: str) -> str:
    """Take someone off the call."""
    with _changing(
        engine, user, CALL_MEMBERS, "update who is on the call", incident_id
    ) as (session, incident, at):
        service.leave_call(
            session,
            incident=incident,
            name=name,
            at=at,
            actor=user.username,
        )
        return f"{name.strip()} left the call."
