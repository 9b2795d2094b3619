"""The open incident call: who is on it, the call-in queue, decisions.

Drivers and staff phone in with a problem, an idea or a question. Each item
waits until someone hears it, then is acted on with a note of what was done;
who heard it and who acted, and when, are kept. Every change is journalled
under the incident's subject.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from controlroom.errors import IncidentError
from controlroom.incidents.models import (
    CallItem,
    CallItemKind,
    CallItemState,
    CallParticipant,
    Decision,
    Incident,
)
from controlroom.incidents.rules import checked_text, checked_time
from controlroom.journal import append_event


def _on_call(session: Session, incident: Incident, name: str) -> CallParticipant | None:
    return session.scalar(
        select(CallParticipant).where(
            CallParticipant.incident_id == incident.id,
            CallParticipant.name == name,
            CallParticipant.left_at.is_(None),
        )
    )


def join_call(
    session: Session, *, incident: Incident, name: str, at: datetime, actor: str
) -> CallParticipant:
    """Put ``name`` on the incident's call from ``at``."""
    at = checked_time(at, not_before=incident.started_at)
    name = checked_text(name, "name of the person joining", limit=80)
    if not incident.is_open:
        raise IncidentError(f"Incident {incident.id} is resolved; its call is over.")
    if _on_call(session, incident, name) is not None:
        raise IncidentError(f"{name} is already on the call.")

    participant = CallParticipant(incident_id=incident.id, name=name, joined_at=at)
    session.add(participant)
    session.flush()
    append_event(
        session,
        kind="IncidentCallJoined",
        subject=incident.subject,
        actor=actor,
        occurred_at=at,
        payload={"name": name},
    )
    return participant


def leave_call(
    session: Session, *, incident: Incident, name: str, at: datetime, actor: str
) -> CallParticipant:
    """Take ``name`` off the incident's call at ``at``."""
    participant = _on_call(session, incident, name.strip())
    if participant is None:
        raise IncidentError(f"{name.strip() or 'Nobody'} is not on the call.")
    at = checked_time(at, not_before=participant.joined_at)

    participant.left_at = at
    append_event(
        session,
        kind="IncidentCallLeft",
        subject=incident.subject,
        actor=actor,
        occurred_at=at,
        payload={"name": participant.name},
    )
    return participant


def raise_call_item(
    session: Session,
    *,
    incident: Incident,
    kind: CallItemKind,
    raised_by: str,
    text: str,
    at: datetime,
    actor: str,
) -> CallItem:
    """Queue a problem, idea or question for the call; it waits to be heard."""
    at = checked_time(at, not_before=incident.started_at)
    raised_by = checked_text(raised_by, "name of who raised it", limit=80)
    text = checked_text(text, "call-in item", limit=1000)
    kind = CallItemKind(kind)
    if not incident.is_open:
        raise IncidentError(
            f"Incident {incident.id} is resolved; raise this on an open incident."
        )

    item = CallItem(
        incident_id=incident.id,
        kind=kind,
        raised_by=raised_by,
        text=text,
        raised_at=at,
        state=CallItemState.WAITING,
        action="",
    )
    session.add(item)
    session.flush()
    append_event(
        session,
        kind="IncidentCallItemRaised",
        subject=incident.subject,
        actor=actor,
        occurred_at=at,
        payload={"item": item.id, "kind": kind, "raised_by": raised_by},
    )
    return item


def get_call_item(session: Session, *, item_id: int) -> CallItem:
    """Return call-in item ``item_id`` or raise a readable error."""
    item = session.get(CallItem, item_id)
    if item is None:
        raise IncidentError(f"There is no call-in item {item_id}.")
    return item


def hear_item(
    session: Session, *, item: CallItem, at: datetime, actor: str
) -> CallItem:
    """Mark a waiting item heard by ``actor``."""
    at = checked_time(at, not_before=item.raised_at)
    if item.state is not CallItemState.WAITING:
        raise IncidentError(
            f"Item {item.id} from {item.raised_by} was already heard by "
            f"{item.heard_by}; it is {item.state.label}."
        )

    item.state = CallItemState.HEARD
    item.heard_by, item.heard_at = actor, at
    _journal(session, item, "IncidentCallItemHeard", at, actor, {})
    return item


def act_on_item(
    session: Session, *, item: CallItem, action: str, at: datetime, actor: str
) -> CallItem:
    """Record what was done about an item; a waiting item counts as heard too."""
    at = checked_time(at, not_before=item.heard_at or item.raised_at)
    action = checked_text(action, "note of what was done", limit=1000)
    if item.state is CallItemState.ACTED_ON:
        raise IncidentError(
            f"Item {item.id} from {item.raised_by} was already acted on by "
            f"{item.acted_by}: {item.action}"
        )

    if item.state is CallItemState.WAITING:
        item.heard_by, item.heard_at = actor, at
    item.state = CallItemState.ACTED_ON
    item.acted_by, item.acted_at, item.action = actor, at, action
    _journal(session, item, "IncidentCallItemActedOn", at, actor, {"action": action})
    return item


def _journal(
    session: Session,
    item: CallItem,
    kind: str,
    at: datetime,
    actor: str,
    extra: dict[str, str],
) -> None:
    append_event(
        session,
        kind=kind,
        subject=f"incident:{item.incident_id}",
        actor=actor,
        occurred_at=at,
        payload={"item": item.id, **extra},
    )


def record_decision(
    session: Session,
    *,
    incident: Incident,
    text: str,
    decided_by: str,
    at: datetime,
    actor: str,
) -> Decision:
    """Write down a decision taken on the call, and who took it."""
    at = checked_time(at, not_before=incident.started_at)
    text = checked_text(text, "decision", limit=1000)
    decided_by = checked_text(decided_by, "name of who decided", limit=80)

    decision = Decision(
        incident_id=incident.id, text=text, decided_by=decided_by, at=at
    )
    session.add(decision)
    session.flush()
    append_event(
        session,
        kind="IncidentDecisionRecorded",
        subject=incident.subject,
        actor=actor,
        occurred_at=at,
        payload={"decision": decision.id, "text": text, "decided_by": decided_by},
    )
    return decision
