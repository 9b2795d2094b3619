"""The incident call screen, headless: report due, the queue, who may open."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session
from streamlit.testing.v1 import AppTest

from controlroom.auth.models import Role
from controlroom.health.models import ComponentState
from controlroom.incidents.cadence import Severity
from controlroom.incidents.models import (
    CallItemKind,
    IncidentStatus,
    ProgressReport,
    Visibility,
)
from controlroom.incidents.service import (
    act_on_item,
    hear_item,
    open_incident,
    raise_call_item,
    record_progress_report,
)
from tests.overview.small_day import NOW, SmallDay
from tests.pages.conftest import sign_in

PAGE = "pages/incident_call.py"


def minutes_ago(minutes: int) -> datetime:
    return NOW - timedelta(minutes=minutes)


def open_sev2(engine: Engine, *, reported_minutes_ago: int) -> None:
    """A SEV2 incident (a report every 30 min) opened 70 minutes ago."""
    with Session(engine) as session, session.begin():
        incident = open_incident(
            session,
            title="Payment tracker stopped",
            kind="payment_tracker_down",
            severity=Severity.SEV2,
            visibility=Visibility.PUBLIC,
            summary="Payments are confirmed late; nothing is lost.",
            at=minutes_ago(70),
            actor="mona",
            components={"tracker": ComponentState.MAJOR_OUTAGE},
        )
        record_progress_report(
            session,
            incident=incident,
            text="Restarting the tracker.",
            at=minutes_ago(reported_minutes_ago),
            actor="mona",
            public=True,
        )
        done = raise_call_item(
            session,
            incident=incident,
            kind=CallItemKind.QUESTION,
            raised_by="VAN-1",
            text="Can I hand over unpaid parcels?",
            at=minutes_ago(30),
            actor="dag",
        )
        act_on_item(session, item=done, action="No", at=minutes_ago(29), actor="mona")
        heard = raise_call_item(
            session,
            incident=incident,
            kind=CallItemKind.IDEA,
            raised_by="Olga",
            text="Confirm by hand from the wallet",
            at=minutes_ago(20),
            actor="olga",
        )
        hear_item(session, item=heard, at=minutes_ago(19), actor="mona")
        raise_call_item(
            session,
            incident=incident,
            kind=CallItemKind.PROBLEM,
            raised_by="VAN-3",
            text="Customer at stop 4 refuses to wait",
            at=minutes_ago(10),
            actor="dag",
        )


def markdown(app: AppTest) -> str:
    return "\n".join(m.value for m in app.markdown)


def test_an_overdue_report_shows_red_with_the_queue_waiting_first(
    small_day_app: SmallDay, engine: Engine
) -> None:
    open_sev2(engine, reported_minutes_ago=34)
    app = sign_in(Role.MANAGEMENT)

    app.switch_page(PAGE).run()

    assert not app.exception
    assert [e.value for e in app.error] == [
        "## Progress report overdue by 4 min (since 12:56 CET)"
    ]
    text = markdown(app)
    assert "SEV2 major · Investigating · Payment tracker stopped · running for" in text
    queue = [m.value for m in app.markdown if m.value.startswith("**WAITING")]
    queue += [m.value for m in app.markdown if m.value.startswith("**HEARD")]
    assert [line.split("\n")[0] for line in queue] == [
        "**WAITING** · problem from **VAN-3** at 2026-12-04 12:50 CET  ",
        "**HEARD** · idea from **Olga** at 2026-12-04 12:40 CET · heard by mona at "
        "2026-12-04 12:41 CET  ",
    ]
    assert app.button(key="item_2_acted") is not None


def test_a_report_on_time_shows_when_the_next_one_is_due(
    small_day_app: SmallDay, engine: Engine
) -> None:
    open_sev2(engine, reported_minutes_ago=18)
    app = sign_in(Role.OPS)

    app.switch_page(PAGE).run()

    assert not app.exception
    assert not app.error
    assert [i.value for i in app.info] == [
        "## Next progress report due in 12 min (13:12 CET)"
    ]


def test_no_change_is_reported_with_one_click(
    small_day_app: SmallDay, engine: Engine
) -> None:
    open_sev2(engine, reported_minutes_ago=34)
    app = sign_in(Role.MANAGEMENT)
    app.switch_page(PAGE).run()

    app.button(key="no_change").click().run()

    assert not app.exception
    with Session(engine) as session:
        newest = session.scalars(
            select(ProgressReport).order_by(ProgressReport.id.desc())
        ).first()
        assert newest is not None
        assert newest.no_change
        assert newest.text == "No change since 12:26. Next update at 13:30 CET."
    assert next(i.value for i in app.info).startswith("## Next progress report due in")


def test_with_no_incident_the_screen_says_so_and_refuses_a_dispatcher_opening_one(
    small_day_app: SmallDay, engine: Engine
) -> None:
    app = sign_in(Role.DISPATCHER)
    app.switch_page(PAGE).run()
    said = [i.value for i in app.info]

    app.text_input[0].input("SMS gateway down")
    app.text_input[2].input("Texts are not going out.")
    app.button(key="open_submit").click().run()

    assert said == ["No incident is open. If something is wrong, open one below."]
    assert not app.exception
    assert len(app.error) == 1
    assert "may not open an incident" in app.error[0].value


def test_management_opens_an_incident_from_the_empty_screen(
    small_day_app: SmallDay, engine: Engine
) -> None:
    app = sign_in(Role.MANAGEMENT)
    app.switch_page(PAGE).run()

    app.text_input[0].input("SMS gateway down")
    app.text_input[2].input("Texts are not going out.")
    app.multiselect(key="open_major_outage").select("sms")
    app.button(key="open_submit").click().run()

    assert not app.exception
    assert [s.value for s in app.success] == ["Opened incident 1: SMS gateway down."]
    assert "SMS gateway down" in markdown(app)


def test_the_status_form_offers_the_next_step_and_keeps_the_severity(
    small_day_app: SmallDay, engine: Engine
) -> None:
    open_sev2(engine, reported_minutes_ago=5)
    app = sign_in(Role.MANAGEMENT)
    app.switch_page(PAGE).run()

    status = next(s for s in app.selectbox if s.label == "Status")
    severity = next(s for s in app.selectbox if s.label == "Severity")

    assert not app.exception
    assert status.value is IncidentStatus.IDENTIFIED
    assert severity.value.label.startswith("SEV2")


def _status_now(engine: Engine) -> IncidentStatus:
    from controlroom.incidents.models import Incident

    with Session(engine) as session:
        incident = session.scalars(select(Incident)).one()
        return incident.status


def test_a_refused_step_back_keeps_the_choice_and_resolving_needs_a_tick(
    small_day_app: SmallDay, engine: Engine
) -> None:
    from controlroom.incidents.models import Incident
    from controlroom.incidents.service import change_status

    open_sev2(engine, reported_minutes_ago=5)
    with Session(engine) as session, session.begin():
        change_status(
            session,
            incident=session.scalars(select(Incident)).one(),
            status=IncidentStatus.MONITORING,
            note="",
            summary=None,
            at=minutes_ago(2),
            actor="mona",
        )
    app = sign_in(Role.MANAGEMENT)
    app.switch_page(PAGE).run()
    status = next(s for s in app.selectbox if s.label == "Status")
    assert status.value is IncidentStatus.RESOLVED  # the next step is offered

    status.select(IncidentStatus.INVESTIGATING)
    app.button(key="status_submit").click().run()  # no note: refused
    # The retry with a note must still mean "investigating", never "resolved".
    after = next(s for s in app.selectbox if s.label == "Status")
    assert after.value is IncidentStatus.INVESTIGATING
    assert _status_now(engine) is IncidentStatus.MONITORING  # unchanged

    after.select(IncidentStatus.RESOLVED)
    app.button(key="status_submit").click().run()
    assert any("tick “Yes, resolve it”" in e.value for e in app.error)
    assert _status_now(engine) is IncidentStatus.MONITORING

    app.checkbox(key="confirm_resolve").check()
    app.button(key="status_submit").click().run()
    assert not app.exception
    assert _status_now(engine) is IncidentStatus.RESOLVED


def test_a_new_incident_starts_restricted_and_at_sev3(small_day_app: SmallDay) -> None:
    app = sign_in(Role.MANAGEMENT)
    app.switch_page(PAGE).run()

    assert next(s for s in app.selectbox if s.label == "Severity").value is (
        Severity.SEV3
    )
    assert app.radio[0].value is Visibility.RESTRICTED


def test_an_incident_opened_elsewhere_shows_on_the_next_run_not_two_seconds_late(
    small_day_app: SmallDay, engine: Engine
) -> None:
    from controlroom.incidents.board import call_version

    app = sign_in(Role.DISPATCHER)
    app.switch_page(PAGE).run()
    assert any("No incident is open" in i.value for i in app.info)
    before = call_version(engine)

    open_sev2(engine, reported_minutes_ago=5)  # someone else, another process
    app.run()

    assert call_version(engine) > before
    assert not any("No incident is open" in i.value for i in app.info)
    assert "Payment tracker stopped" in markdown(app)


def _resolve_the_incident(engine: Engine) -> int:
    from controlroom.incidents.models import Incident
    from controlroom.incidents.service import change_status

    with Session(engine) as session, session.begin():
        incident = session.scalars(select(Incident)).one()
        change_status(
            session,
            incident=incident,
            status=IncidentStatus.RESOLVED,
            note="Tracker back; every payment matched.",
            summary="Resolved: payments are confirmed again.",
            at=minutes_ago(3),
            actor="mona",
        )
        return incident.id


def test_a_resolved_incident_can_be_looked_back_on_and_left_again(
    small_day_app: SmallDay, engine: Engine
) -> None:
    open_sev2(engine, reported_minutes_ago=20)
    incident_id = _resolve_the_incident(engine)
    app = sign_in(Role.OPS)
    app.switch_page(PAGE).run()
    assert next(i.value for i in app.info).startswith("No incident is open.")
    assert [e.label for e in app.expander if "Past" in e.label] == [
        "Past incidents (1)"
    ]
    past = next(s for s in app.selectbox if s.label == "Resolved incident")
    assert past.value == incident_id
    assert past.options == [
        "SEV2 major · Resolved · Payment tracker stopped · lasted 1 h 07 min"
    ]

    next(b for b in app.button if b.label == "Show this incident").click().run()

    assert not app.exception
    assert f"You are looking back at resolved incident #{incident_id}" in (
        app.info[0].value
    )
    assert "Resolved after 1 h 07 min." in [s.value for s in app.success]
    subheaders = [h.value for h in app.subheader]
    assert subheaders[:5] == [
        "Roles", "Call-in queue", "Decisions", "Progress reports", "Timeline"
    ]  # fmt: skip
    assert "Restarting the tracker." in markdown(app)  # listed among the reports
    # A review, not a live call: no forms to act with, only the way to reopen.
    labels = {b.label for b in app.button}
    assert not labels & {"Heard", "Acted on", "Add to the queue", "Hand over"}
    assert any(t.label == "Why reopen" for t in app.text_input)

    next(b for b in app.button if b.label == "Back").click().run()

    assert next(i.value for i in app.info).startswith("No incident is open.")
