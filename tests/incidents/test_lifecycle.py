"""Opening, moving through the lifecycle, resolving and reopening."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from controlroom.errors import IncidentError
from controlroom.health.models import ComponentState
from controlroom.health.service import get_component
from controlroom.incidents.cadence import Severity
from controlroom.incidents.models import Incident, IncidentStatus, StatusTransition
from controlroom.incidents.service import (
    change_severity,
    change_status,
    current_incident,
    open_incidents,
    reopen_incident,
)
from controlroom.journal.models import JournalEvent
from controlroom.journal.service import journal_head
from tests.incidents.conftest import at, new_incident


def test_opening_an_incident_journals_it_under_its_subject(components: Engine) -> None:
    with Session(components) as session, session.begin():
        incident = new_incident(
            session, components={"tracker": ComponentState.MAJOR_OUTAGE}
        )
        number = incident.id

    with Session(components) as session:
        kinds = session.scalars(
            select(JournalEvent.kind)
            .where(JournalEvent.subject == f"incident:{number}")
            .order_by(JournalEvent.seq)
        ).all()
        opened = session.scalars(
            select(JournalEvent.payload).where(JournalEvent.kind == "IncidentOpened")
        ).one()
    assert kinds == ["IncidentOpened", "IncidentComponentAttached"]
    assert json.loads(opened)["severity"] == "sev2"


def test_each_transition_is_timestamped_with_who_and_why(components: Engine) -> None:
    with Session(components) as session, session.begin():
        incident = new_incident(session)
        change_status(
            session,
            incident=incident,
            status=IncidentStatus.IDENTIFIED,
            at=at(7),
            actor="mona",
            note="the tracker's disk is full",
        )
        change_status(
            session,
            incident=incident,
            status=IncidentStatus.RESOLVED,
            at=at(30),
            actor="olga",
            summary="Payments are confirmed on time again.",
        )

        rows = session.scalars(
            select(StatusTransition).order_by(StatusTransition.at)
        ).all()
        moves = [(r.from_status, r.to_status, r.at, r.actor) for r in rows]
        assert moves == [
            (None, IncidentStatus.INVESTIGATING, at(0), "mona"),
            (IncidentStatus.INVESTIGATING, IncidentStatus.IDENTIFIED, at(7), "mona"),
            (IncidentStatus.IDENTIFIED, IncidentStatus.RESOLVED, at(30), "olga"),
        ]
        assert incident.resolved_at == at(30)
        assert incident.summary == "Payments are confirmed on time again."


def test_resolving_twice_is_refused_and_points_to_reopen(components: Engine) -> None:
    with Session(components) as session, session.begin():
        incident = new_incident(session)
        change_status(
            session,
            incident=incident,
            status=IncidentStatus.RESOLVED,
            at=at(5),
            actor="mona",
        )

        with pytest.raises(IncidentError, match="already resolved"):
            change_status(
                session,
                incident=incident,
                status=IncidentStatus.RESOLVED,
                at=at(6),
                actor="mona",
            )
        with pytest.raises(IncidentError, match="reopen it"):
            change_status(
                session,
                incident=incident,
                status=IncidentStatus.MONITORING,
                at=at(6),
                actor="mona",
            )


def test_moving_back_needs_a_note(components: Engine) -> None:
    with Session(components) as session, session.begin():
        incident = new_incident(session)
        change_status(
            session,
            incident=incident,
            status=IncidentStatus.MONITORING,
            at=at(5),
            actor="mona",
        )

        with pytest.raises(IncidentError, match="needs a note saying why"):
            change_status(
                session,
                incident=incident,
                status=IncidentStatus.INVESTIGATING,
                at=at(8),
                actor="mona",
            )
        change_status(
            session,
            incident=incident,
            status=IncidentStatus.INVESTIGATING,
            at=at(8),
            actor="mona",
            note="the fix did not hold",
        )

        assert incident.status is IncidentStatus.INVESTIGATING


def test_a_transition_before_the_last_one_is_refused(components: Engine) -> None:
    with Session(components) as session, session.begin():
        incident = new_incident(session)
        change_status(
            session,
            incident=incident,
            status=IncidentStatus.IDENTIFIED,
            at=at(10),
            actor="mona",
        )

        with pytest.raises(IncidentError, match="check the clock"):
            change_status(
                session,
                incident=incident,
                status=IncidentStatus.MONITORING,
                at=at(9),
                actor="mona",
            )


def test_reopening_holds_the_components_again(components: Engine) -> None:
    with Session(components) as session, session.begin():
        incident = new_incident(
            session, components={"payments": ComponentState.PARTIAL_OUTAGE}
        )
        change_status(
            session,
            incident=incident,
            status=IncidentStatus.RESOLVED,
            at=at(20),
            actor="mona",
        )
        cleared = get_component(session, key="payments").state

        reopen_incident(
            session, incident=incident, at=at(25), actor="mona", reason="back again"
        )

        assert cleared is ComponentState.OPERATIONAL
        assert incident.status is IncidentStatus.INVESTIGATING
        assert incident.resolved_at is None
        assert get_component(session, key="payments").state is (
            ComponentState.PARTIAL_OUTAGE
        )


def test_reopening_an_open_incident_is_refused(components: Engine) -> None:
    with Session(components) as session, session.begin():
        incident = new_incident(session)

        with pytest.raises(IncidentError, match="only a resolved incident"):
            reopen_incident(
                session, incident=incident, at=at(1), actor="mona", reason="why not"
            )


def test_an_empty_title_is_refused_and_nothing_is_written(
    components: Engine,
) -> None:
    with Session(components) as session, session.begin():
        head = journal_head(session)

        with pytest.raises(IncidentError, match="incident title is empty"):
            new_incident(session, title="   ")

    with Session(components) as session:
        assert session.scalar(select(func.count()).select_from(Incident)) == 0
        assert journal_head(session) == head


def test_an_unknown_component_refuses_the_whole_incident(components: Engine) -> None:
    with Session(components) as session, session.begin():
        head = journal_head(session)

        with pytest.raises(IncidentError, match="no component called 'nodes'"):
            new_incident(
                session,
                components={
                    "payments": ComponentState.MAJOR_OUTAGE,
                    "nodes": ComponentState.MAJOR_OUTAGE,
                },
            )

    with Session(components) as session:
        assert session.scalar(select(func.count()).select_from(Incident)) == 0
        assert get_component(session, key="payments").state is (
            ComponentState.OPERATIONAL
        )
        assert journal_head(session) == head


def test_the_current_incident_is_the_most_severe_then_the_oldest(
    components: Engine,
) -> None:
    with Session(components) as session, session.begin():
        new_incident(session, title="minor", severity=Severity.SEV3)
        new_incident(session, title="old major", minutes=5)
        new_incident(session, title="new major", minutes=9)
        resolved = new_incident(session, title="critical", severity=Severity.SEV1)
        change_status(
            session,
            incident=resolved,
            status=IncidentStatus.RESOLVED,
            at=at(10),
            actor="mona",
        )

        current = current_incident(session)
        titles = [i.title for i in open_incidents(session)]

        assert current is not None
        assert current.title == "old major"
        assert titles == ["old major", "new major", "minor"]


def test_changing_severity_to_the_same_is_refused(components: Engine) -> None:
    with Session(components) as session, session.begin():
        incident = new_incident(session)
        change_severity(
            session, incident=incident, severity=Severity.SEV1, at=at(3), actor="mona"
        )

        with pytest.raises(IncidentError, match="already SEV1 critical"):
            change_severity(
                session,
                incident=incident,
                severity=Severity.SEV1,
                at=at(4),
                actor="mona",
            )
