"""An incident's timeline, from the journal and the notes."""

from __future__ import annotations

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from controlroom.health.models import ComponentState
from controlroom.health.service import get_component, set_component_state
from controlroom.incidents.models import IncidentStatus
from controlroom.incidents.service import add_note, change_status
from controlroom.incidents.timeline import incident_timeline
from tests.incidents.conftest import at, new_incident


def test_the_timeline_merges_journal_and_notes_newest_first_in_local_time(
    components: Engine,
) -> None:
    with Session(components) as session, session.begin():
        # A change to the component before the incident is not its story.
        set_component_state(
            session,
            component=get_component(session, key="sms"),
            state=ComponentState.DEGRADED_PERFORMANCE,
            at=at(-30),
            actor="probe",
        )
        incident = new_incident(
            session, components={"sms": ComponentState.MAJOR_OUTAGE}
        )
        add_note(
            session,
            incident=incident,
            text="Provider says a fibre cut in Oslo",
            at=at(4),
            actor="olga",
        )
        change_status(
            session,
            incident=incident,
            status=IncidentStatus.RESOLVED,
            at=at(20),
            actor="mona",
        )
        # After the resolution: not on this incident's timeline either.
        set_component_state(
            session,
            component=get_component(session, key="sms"),
            state=ComponentState.PARTIAL_OUTAGE,
            at=at(50),
            actor="probe",
        )

        entries = incident_timeline(
            session, incident=incident, now=at(60), zone="Europe/Oslo"
        )

    lines = [(e.when, e.actor, e.text, e.manual) for e in entries]
    assert lines == [
        (
            "2026-12-05 11:20 CET",
            "mona",
            "SMS gateway: state major outage → operational",
            False,
        ),
        ("2026-12-05 11:20 CET", "mona", "Resolved", False),
        ("2026-12-05 11:04 CET", "olga", "Provider says a fibre cut in Oslo", True),
        (
            "2026-12-05 11:00 CET",
            "mona",
            "SMS gateway: state degraded performance → major outage",
            False,
        ),
        ("2026-12-05 11:00 CET", "mona", "Holds SMS gateway at major outage", False),
        (
            "2026-12-05 11:00 CET",
            "mona",
            "Incident opened (sev2): Payment tracker stopped",
            False,
        ),
    ]
