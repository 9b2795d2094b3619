"""The Broadcasts screen, headless: compose, preview, send, follow, edit."""

from __future__ import annotations

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session
from streamlit.testing.v1 import AppTest

from controlroom.auth.models import Role
from controlroom.broadcasts.models import Message, MessageChannel, MessageTemplate
from controlroom.broadcasts.outbox import run_round
from controlroom.broadcasts.service import NoticeKind, queue_parcel_notice
from controlroom.orders.models import Parcel
from tests.broadcasts.outbox_world import ScriptedGateway
from tests.overview.small_day import NOW, SmallDay
from tests.pages.conftest import sign_in

PAGE = "pages/broadcasts.py"


def open_page(role: Role) -> AppTest:
    app = sign_in(role)
    app.switch_page(PAGE).run()
    assert not app.exception
    return app


def button(app: AppTest, label: str) -> object:
    return next(b for b in app.button if b.label == label)


def _sms_count(engine: Engine) -> int:
    with Session(engine) as session:
        query = select(func.count()).where(Message.channel == MessageChannel.SMS)
        return session.scalar(query) or 0


def test_a_typographic_sms_is_offered_in_gsm7_and_sent_once(
    small_day_app: SmallDay, engine: Engine
) -> None:
    app = open_page(Role.OPS)
    app.multiselect[0].set_value([MessageChannel.SMS]).run()
    app.text_area(key="broadcast_message").input("Delay – we’re on it").run()

    info = " ".join(i.value for i in app.info)
    assert "'–' makes this UCS-2" in info
    assert "Delay - we're on it" in info
    button(app, "Use the GSM-7 spelling").click().run()
    text = app.text_area(key="text_incident_update_drivers_sms").value
    button(app, "Send").click().run()

    assert not app.exception
    assert "Delay - we're on it" in text
    assert next(s.value for s in app.success).startswith("Broadcast 1 to all drivers")
    assert _sms_count(engine) == 1  # the small day has one driver
    table = app.dataframe[0].value
    assert list(table.columns) == [
        "Broadcast", "Time", "By", "Audience", "Channel",
        "Queued", "Sent", "Delivered", "Failed",
    ]  # fmt: skip
    assert table["Time"].iloc[0] == "04 Dec 13:00"


def test_failed_messages_and_unmatched_receipts_are_shown_with_a_retry(
    small_day_app: SmallDay, engine: Engine
) -> None:
    with Session(engine) as session, session.begin():
        parcel = session.scalars(
            select(Parcel).where(Parcel.code == small_day_app.codes["P3"])
        ).one()
        queue_parcel_notice(
            session, parcel=parcel, kind=NoticeKind.PICKED_UP, at=NOW, actor="t"
        )
    gateway = ScriptedGateway(ids=[["1"], ["2"]])
    run_round(engine, gateway, at=NOW, max_attempts=1)
    gateway.deliver("1", "UNDELIV")
    gateway.deliver("99")
    run_round(engine, gateway, at=NOW, max_attempts=1)

    app = open_page(Role.OPS)
    page_text = " ".join(m.value for m in app.markdown)
    assert "failed after 1 attempt(s): Delivery receipt said UNDELIV" in page_text
    assert "to a customer (phone ending" in page_text
    unmatched = next(d.value for d in app.dataframe if "Id" in d.value.columns)
    assert list(unmatched["Id"]) == ["99"]
    button(app, "Send again").click().run()

    assert [s.value for s in app.success] == [
        "Message 1 is queued again for the next outbox round."
    ]


def test_a_manager_edits_a_template_and_an_unknown_placeholder_is_refused(
    small_day_app: SmallDay, engine: Engine
) -> None:
    app = open_page(Role.MANAGEMENT)
    key = next(t.key for t in app.text_area if t.key and t.key.startswith("template_"))

    app.text_area(key=key).input("{{ eta }} soon").run()
    button(app, "Save template").click().run()
    refused = [e.value for e in app.error]
    app.text_area(key=key).input("Ops: {{ reply }}").run()
    button(app, "Save template").click().run()

    assert "{{ eta }} is not a placeholder here" in refused[0]
    assert next(s.value for s in app.success).startswith("Saved the")
    with Session(engine) as session:
        bodies = session.scalars(select(MessageTemplate.body)).all()
    assert "Ops: {{ reply }}" in bodies


def test_ops_see_the_templates_but_cannot_edit_them(small_day_app: SmallDay) -> None:
    app = open_page(Role.OPS)

    editor = next(t for t in app.text_area if t.key and t.key.startswith("template_"))
    assert editor.disabled
    assert not [b for b in app.button if b.label == "Save template"]


def test_the_composer_starts_on_the_open_incident_and_adds_sms_when_the_app_is_down(
    small_day_app: SmallDay, engine: Engine
) -> None:
    from controlroom.health.models import Component, ComponentKind, ComponentState
    from controlroom.incidents.cadence import Severity
    from controlroom.incidents.models import Visibility
    from controlroom.incidents.service import open_incident

    with Session(engine) as session, session.begin():
        app_key = session.scalars(
            select(Component.key).where(Component.kind == ComponentKind.DRIVER_APP)
        ).first()
        assert app_key is not None
        open_incident(
            session,
            title="Driver app fails stop reports",
            kind="driver-app",
            severity=Severity.SEV2,
            visibility=Visibility.PUBLIC,
            summary="Drivers text their stops",
            at=NOW,
            actor="mgmt",
            components={app_key: ComponentState.MAJOR_OUTAGE},
        )

    app = open_page(Role.OPS)
    app.text_area(key="broadcast_message").input("Text your stops").run()

    assert app.selectbox[0].value == 1
    assert app.multiselect[0].value == [MessageChannel.APP, MessageChannel.SMS]
    driver_app = app.text_area(key="text_incident_update_drivers_app").value
    assert driver_app.startswith("Driver app fails stop reports: Text your stops")
    assert "Status: investigating." in driver_app
