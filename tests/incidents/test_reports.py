"""Progress reports and when the next one is due, through the read model."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from controlroom.errors import IncidentError
from controlroom.incidents.board import call_board, report_prompt
from controlroom.incidents.cadence import Severity
from controlroom.incidents.models import Incident, Visibility
from controlroom.incidents.service import (
    record_no_change_report,
    record_progress_report,
)
from tests.incidents.conftest import at, new_incident

ZONE = "Europe/Oslo"
OSLO = ZoneInfo(ZONE)


def reported_at_10_05(session: Session) -> Incident:
    # SEV3 reports every 60 minutes.
    incident = new_incident(session, severity=Severity.SEV3)
    record_progress_report(
        session,
        incident=incident,
        text="The tracker is being restarted.",
        at=at(5),
        actor="mona",
        public=True,
    )
    return incident


def test_last_report_10_05_interval_60_is_overdue_from_11_05(
    components: Engine,
) -> None:
    with Session(components) as session, session.begin():
        incident = reported_at_10_05(session)

        before = call_board(session, incident=incident, now=at(64), zone=ZONE).due
        on_time = call_board(session, incident=incident, now=at(65), zone=ZONE).due
        later = call_board(session, incident=incident, now=at(69), zone=ZONE).due

    assert (before.overdue, before.words) == (
        False,
        "next progress report due in 1 min (12:05 CET)",
    )
    assert on_time.overdue
    assert later.words == "progress report overdue by 4 min (since 12:05 CET)"


def test_last_report_10_05_interval_60_prompts_exactly_once(
    components: Engine,
) -> None:
    with Session(components) as session, session.begin():
        incident = reported_at_10_05(session)
        prompts = []
        previous: datetime | None = None
        # A screen looking every minute from 10:06 until 12:04.
        for minute in range(6, 125):
            prompt = report_prompt(
                session,
                incident=incident,
                previous_check=previous,
                now=at(minute),
                zone=ZONE,
            )
            if prompt is not None:
                prompts.append((minute, prompt.for_due_at))
            previous = at(minute)

    assert prompts == [(65, at(65))]


def test_with_no_report_yet_the_first_notice_is_due_from_the_start(
    components: Engine,
) -> None:
    with Session(components) as session, session.begin():
        incident = new_incident(session, severity=Severity.SEV1)

        due = call_board(session, incident=incident, now=at(3), zone=ZONE).due

    assert due.first_notice
    assert due.words == "first notice due in 2 min (11:05 CET)"


def test_no_change_is_one_action_and_names_the_next_update(
    components: Engine,
) -> None:
    with Session(components) as session, session.begin():
        incident = reported_at_10_05(session)

        report = record_no_change_report(
            session, incident=incident, at=at(65), actor="mona", zone=OSLO
        )
        due = call_board(session, incident=incident, now=at(70), zone=ZONE).due

        assert report.text == "No change since 11:05. Next update at 13:05 CET."
        assert (report.no_change, report.public) == (True, True)
    assert due.due_at == at(125)
    assert not due.overdue


def test_a_no_change_report_on_a_restricted_incident_stays_internal(
    components: Engine,
) -> None:
    with Session(components) as session, session.begin():
        incident = new_incident(session, visibility=Visibility.RESTRICTED)

        report = record_no_change_report(
            session, incident=incident, at=at(10), actor="mona", zone=OSLO
        )

        assert not report.public


def test_a_report_before_the_last_one_is_refused(components: Engine) -> None:
    with Session(components) as session, session.begin():
        incident = reported_at_10_05(session)

        with pytest.raises(IncidentError, match="cannot come before it"):
            record_progress_report(
                session,
                incident=incident,
                text="Late news",
                at=at(4),
                actor="mona",
                public=False,
            )
