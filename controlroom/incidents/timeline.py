"""An incident's timeline: its journal, its components' journal, its notes.

The journal is the record; the timeline reads it back in words. Events about
the incident and about the components it held, within the incident's window
(start to resolution, or to now while open), are merged with the notes people
wrote by hand, newest first. Times are stored in UTC and shown in the
operator's zone with the zone's abbreviation.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from controlroom.health.models import Component, ComponentState
from controlroom.incidents.models import AffectedComponent, Incident, IncidentNote
from controlroom.journal.models import JournalEvent
from controlroom.session_frame import local_time


@dataclass(frozen=True)
class TimelineEntry:
    """One line of the timeline."""

    at: datetime
    when: str  # local time with its zone, e.g. "2026-12-05 03:12 CET"
    actor: str
    text: str
    manual: bool  # a note written by hand rather than a recorded change
    seq: int  # the journal's order, for changes recorded at the same time


def _state(value: object) -> str:
    try:
        return ComponentState(str(value)).label.lower()
    except ValueError:
        return str(value)


def _role(value: object) -> str:
    return str(value).replace("_", " ")


def _with_note(text: str, note: object) -> str:
    return f"{text}: {note}" if note else text


# Words for each event kind, from its payload. An event missing here is shown
# by its kind, so a new kind never disappears from the timeline.
_WORDS: Mapping[str, Callable[[Mapping[str, Any]], str]] = {
    "IncidentOpened": lambda p: f"Incident opened ({p['severity']}): {p['title']}",
    "IncidentStatusChanged": lambda p: _with_note(
        f"Status {p['from']} → {p['to']}", p.get("note")
    ),
    "IncidentResolved": lambda p: _with_note("Resolved", p.get("note")),
    "IncidentReopened": lambda p: f"Reopened as {p['to']}: {p['reason']}",
    "IncidentSeverityChanged": lambda p: _with_note(
        f"Severity {p['from']} → {p['to']}", p.get("note")
    ),
    "IncidentRoleAssigned": lambda p: (
        f"{p['holder']} is {_role(p['role'])}"
        + (f", taking over from {p['from']}" if p.get("from") else "")
    ),
    "IncidentComponentAttached": lambda p: (
        f"Holds {p['component']} at {_state(p['impact'])}"
    ),
    "IncidentComponentDetached": lambda p: f"Lets go of {p['component']}",
    "IncidentCallJoined": lambda p: f"{p['name']} joined the call",
    "IncidentCallLeft": lambda p: f"{p['name']} left the call",
    "IncidentCallItemRaised": lambda p: (
        f"{p['raised_by']} raised a {p['kind']} (item {p['item']})"
    ),
    "IncidentCallItemHeard": lambda p: f"Item {p['item']} heard",
    "IncidentCallItemActedOn": lambda p: f"Item {p['item']} acted on: {p['action']}",
    "IncidentDecisionRecorded": lambda p: f"Decision by {p['decided_by']}: {p['text']}",
    "IncidentProgressReported": lambda p: (
        ("Public" if p["public"] else "Internal") + f" progress report: {p['text']}"
    ),
    "ComponentStateChanged": lambda p: f"state {_state(p['from'])} → {_state(p['to'])}",
    "ComponentReleased": lambda p: "handed back to its health probes",
}

# Recorded as note rows, which carry the text; their events would repeat them.
_SHOWN_AS_NOTES = frozenset({"IncidentNoteAdded"})


def incident_timeline(
    session: Session, *, incident: Incident, now: datetime, zone: str
) -> list[TimelineEntry]:
    """Return the incident's timeline, newest first."""
    end = incident.resolved_at or now
    rows = session.execute(
        select(Component.key, Component.name)
        .join(AffectedComponent, AffectedComponent.component_id == Component.id)
        .where(AffectedComponent.incident_id == incident.id)
        .distinct()
    )
    components = {row.key: row.name for row in rows}
    subjects = [incident.subject, *(f"component:{key}" for key in components)]
    events = session.scalars(
        select(JournalEvent).where(
            JournalEvent.subject.in_(subjects),
            # The incident's own events always belong to it; a component's
            # only while the incident was running.
            or_(
                JournalEvent.subject == incident.subject,
                JournalEvent.occurred_at.between(incident.started_at, end),
            ),
        )
    ).all()
    entries = [
        TimelineEntry(
            at=event.occurred_at,
            when=local_time(event.occurred_at, zone),
            actor=event.actor,
            text=_describe(event.kind, event.subject, event.payload, components),
            manual=False,
            seq=event.seq,
        )
        for event in events
        if event.kind not in _SHOWN_AS_NOTES
    ]
    # A note's own event gives its place among changes made the same minute.
    note_seqs = {
        json.loads(event.payload).get("note_id"): event.seq
        for event in events
        if event.kind in _SHOWN_AS_NOTES
    }
    notes = session.scalars(
        select(IncidentNote).where(IncidentNote.incident_id == incident.id)
    ).all()
    entries += [
        TimelineEntry(
            at=note.at,
            when=local_time(note.at, zone),
            actor=note.author,
            text=note.text,
            manual=True,
            seq=note_seqs.get(note.id, 0),
        )
        for note in notes
    ]
    return sorted(entries, key=lambda e: (e.at, e.seq), reverse=True)


def _describe(
    kind: str, subject: str, payload: str, components: Mapping[str, str]
) -> str:
    words = _WORDS.get(kind)
    if words is None:
        return kind
    try:
        fields = json.loads(payload)
        if "component" in fields:
            fields["component"] = components.get(
                fields["component"], fields["component"]
            )
        text = words(fields)
    except (KeyError, ValueError, TypeError, AttributeError):
        return kind
    if subject.startswith("component:"):
        key = subject.removeprefix("component:")
        text = f"{components.get(key, key)}: {text}"
    return text
