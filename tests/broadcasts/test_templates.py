"""Templates: the defaults load, bad syntax and unknown names are refused."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from controlroom.broadcasts.models import MessageChannel
from controlroom.broadcasts.template_store import (
    all_templates,
    edit_template,
    render_template,
)
from controlroom.broadcasts.templates import (
    PURPOSES,
    check_template,
    load_defaults,
    purpose_of,
    render,
)
from controlroom.errors import BroadcastError, TemplateRefused
from controlroom.journal import JournalEvent
from tests.conftest import DAY

DRIVERS = purpose_of("incident_update_drivers")


def test_every_purpose_has_a_default_text_on_each_of_its_channels() -> None:
    defaults = load_defaults()

    expected = {(p.key, c) for p in PURPOSES.values() for c in p.channels}
    assert set(defaults) == expected


def test_an_unknown_placeholder_is_refused_with_its_line_and_the_allowed_names() -> (
    None
):
    with pytest.raises(TemplateRefused) as refused:
        check_template(DRIVERS, MessageChannel.SMS, "Update:\n{{ eta }} soon")

    assert str(refused.value) == (
        "Line 2: {{ eta }} is not a placeholder here; use one of: area, "
        "incident, message, next_update, status."
    )
    assert refused.value.line == 2


def test_a_syntax_error_is_refused_with_its_line() -> None:
    with pytest.raises(TemplateRefused, match=r"^Line 3: .*allowed here: area"):
        check_template(DRIVERS, MessageChannel.SMS, "a\nb\n{{ message }")


def test_a_template_may_not_reach_into_python_objects() -> None:
    with pytest.raises(TemplateRefused, match="may not do"):
        render("{{ message.__class__.__mro__ }}", {"message": "x"})


def test_a_channel_the_purpose_does_not_use_is_refused() -> None:
    with pytest.raises(TemplateRefused, match="is not sent by status_site"):
        check_template(DRIVERS, MessageChannel.STATUS_SITE, "{{ message }}")


def test_a_defaults_file_naming_an_unknown_placeholder_is_refused(
    tmp_path: Path,
) -> None:
    bad = tmp_path / "templates.toml"
    bad.write_text('[driver_reply]\nsms = "{{ name }}"\n', encoding="utf-8")

    with pytest.raises(BroadcastError, match=r"\{\{ name \}\} is not a placeholder"):
        load_defaults(bad)


def test_a_manager_edits_a_template_and_the_journal_keeps_who_and_the_texts(
    session: Session,
) -> None:
    edit_template(
        session,
        purpose="parcel_delivered",
        channel=MessageChannel.SMS,
        body="Delivered: {{ code }} at {{ when }}.",
        at=DAY,
        actor="mona",
    )

    text = render_template(
        session,
        purpose="parcel_delivered",
        channel=MessageChannel.SMS,
        values={"code": "X", "when": "10:00"},
        at=DAY,
    )
    [template] = [
        t for t in all_templates(session, at=DAY) if t.purpose == "parcel_delivered"
    ]
    event = session.scalar(
        select(JournalEvent).where(JournalEvent.kind == "MessageTemplateEdited")
    )
    assert text == "Delivered: X at 10:00."
    assert (template.updated_by, template.updated_at) == ("mona", DAY)
    assert event is not None
    assert json.loads(event.payload)["after"] == "Delivered: {{ code }} at {{ when }}."


def test_an_edit_with_an_unknown_placeholder_changes_nothing(
    session: Session,
) -> None:
    with pytest.raises(TemplateRefused, match="use one of: code, when"):
        edit_template(
            session,
            purpose="parcel_delivered",
            channel=MessageChannel.SMS,
            body="{{ name }}, your parcel came",
            at=DAY,
            actor="mona",
        )

    text = render_template(
        session,
        purpose="parcel_delivered",
        channel=MessageChannel.SMS,
        values={"code": "X", "when": "10:00"},
        at=DAY,
    )
    assert text.startswith("CryptoPack: parcel X was delivered")


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ("{% include 'x' %}", "include is not allowed"),
        ("{% extends 'x' %}{{ code }}", "extends is not allowed"),
        ("{% import 'x' as y %}{{ code }}", "import is not allowed"),
        ("{{ code.__class__ }}", "getattr is not allowed"),
        ("{{ code|unknownfilter }}", "the filter 'unknownfilter' is not allowed"),
        ("{{ 'x' * 10**8 }}", "mul is not allowed"),
        ("{{ code.upper() }}", "not allowed"),
        ("{% for x in [1,2] %}{{ code|truncate(9999) * 1 }}{% endfor %}", "mul"),
        ("{{ code }}" * 200, "at most 1600"),
    ],
)
def test_templates_that_could_not_render_or_would_blow_up_are_refused_on_save(
    body: str, words: str
) -> None:
    with pytest.raises(TemplateRefused) as refused:
        check_template(PURPOSES["parcel_delivered"], MessageChannel.SMS, body)

    assert words in str(refused.value)


def test_a_stored_template_that_fails_at_send_time_is_a_refusal_not_a_crash() -> None:
    # Saved before today's checks: rendering must say so, not raise TypeError.
    with pytest.raises(TemplateRefused, match="cannot be rendered"):
        render("{% include 'x' %}", {"code": "7KQ2-9XWM-4TCZ"})


def test_if_for_set_and_text_filters_stay_allowed() -> None:
    body = (
        "{% set greeting = 'Hi' %}{{ greeting }} {{ code|upper }}"
        "{% if when %} at {{ when|trim }}{% endif %}."
    )
    check_template(PURPOSES["parcel_delivered"], MessageChannel.SMS, body)

    assert render(body, {"code": "abc", "when": " 13:05 "}) == "Hi ABC at 13:05."
