"""What the status site may show of incidents."""

from __future__ import annotations

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from controlroom.health.models import ComponentState
from controlroom.incidents.models import IncidentStatus, Visibility
from controlroom.incidents.public import PublicUpdate, public_incidents
from controlroom.incidents.service import (
    add_note,
    change_status,
    record_decision,
    record_progress_report,
)
from tests.incidents.conftest import at, new_incident


def test_only_public_incidents_and_their_public_reports_are_shown(
    components: Engine,
) -> None:
    with Session(components) as session, session.begin():
        public = new_incident(
            session,
            title="Payments confirmed late",
            components={
                "tracker": ComponentState.MAJOR_OUTAGE,
                "payments": ComponentState.DEGRADED_PERFORMANCE,
            },
        )
        restricted = new_incident(
            session, title="Phishing mail to staff", visibility=Visibility.RESTRICTED
        )
        for incident in (public, restricted):
            record_progress_report(
                session,
                incident=incident,
                text=f"Working on {incident.title}.",
                at=at(5),
                actor="mona",
                public=True,
            )
            record_progress_report(
                session,
                incident=incident,
                text="Internal: Ola's laptop is the suspect.",
                at=at(6),
                actor="mona",
                public=False,
            )
        add_note(session, incident=public, text="Call Ola", at=at(7), actor="mona")
        record_decision(
            session,
            incident=public,
            text="Refund Kari",
            decided_by="Mona",
            at=at(8),
            actor="mona",
        )

        shown = public_incidents(session, since=at(-60))

    assert [i.title for i in shown] == ["Payments confirmed late"]
    assert shown[0].components == ("Payment tracker", "Payments")
    assert shown[0].severity_label == "SEV2 major"
    assert shown[0].updates == (
        PublicUpdate(
            at(5), IncidentStatus.INVESTIGATING, "Working on Payments confirmed late."
        ),
    )


def test_an_incident_resolved_before_since_is_left_out_and_one_after_stays(
    components: Engine,
) -> None:
    with Session(components) as session, session.begin():
        for title, resolved in (("old", 10), ("recent", 50)):
            incident = new_incident(
                session, title=title, components={"sms": ComponentState.MAJOR_OUTAGE}
            )
            change_status(
                session,
                incident=incident,
                status=IncidentStatus.RESOLVED,
                at=at(resolved),
                actor="mona",
            )
            record_progress_report(
                session,
                incident=incident,
                text="Resolved.",
                at=at(resolved),
                actor="mona",
                public=True,
            )

        shown = public_incidents(session, since=at(30))

    assert [(i.title, i.resolved_at, i.components) for i in shown] == [
        ("recent", at(50), ("SMS gateway",))
    ]
    assert shown[0].updates[0].status is IncidentStatus.RESOLVED
