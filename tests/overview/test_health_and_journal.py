"""Components, hand-set states, the journal view and its verification."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session

from controlroom.auth.models import Role
from controlroom.errors import PermissionDenied
from controlroom.health.models import ComponentState
from controlroom.health.service import get_component, report_health
from controlroom.journal import JournalEvent, append_event
from controlroom.overview.actions import change_component_state, verify_journal_now
from controlroom.overview.journal_view import event_kinds, latest_events
from controlroom.overview.systems import component_rows
from controlroom.session_frame import SignedInUser
from tests.overview.small_day import SmallDay

OLGA = SignedInUser("olga", "Olga", Role.OPS)
DAG = SignedInUser("dag", "Dag", Role.DISPATCHER)


def test_a_component_shows_its_newest_probe(
    small_day: SmallDay, engine: Engine
) -> None:
    with Session(engine) as session, session.begin():
        node = get_component(session, key="node_eu")
        for minute, latency in ((1, 80), (3, 240), (2, 120)):
            report_health(
                session,
                component=node,
                state=ComponentState.OPERATIONAL,
                at=datetime(2026, 12, 4, 11, minute, tzinfo=UTC),
                actor="probe",
                latency_ms=latency,
            )

    with Session(engine) as session:
        shown = {row.key: row for row in component_rows(session)}

    assert shown["node_eu"].latency_ms == 240
    assert shown["node_eu"].function == "Payments"
    assert shown["web_shop"].latency_ms is None


def test_ops_set_a_component_down_and_the_journal_names_them(
    small_day: SmallDay, engine: Engine
) -> None:
    changed = change_component_state(
        engine,
        user=OLGA,
        key="sms",
        state=ComponentState.MAJOR_OUTAGE,
        note="operator outage",
    )

    with Session(engine) as session:
        event = session.scalars(
            select(JournalEvent).order_by(JournalEvent.seq.desc()).limit(1)
        ).one()
        sms = get_component(session, key="sms")
    assert changed is True
    assert (event.kind, event.subject, event.actor) == (
        "ComponentStateChanged",
        "component:sms",
        "olga",
    )
    assert sms.state is ComponentState.MAJOR_OUTAGE
    assert sms.state_since == datetime(2026, 12, 4, 12, 0, tzinfo=UTC)


def test_a_dispatcher_may_not_set_a_component_state(
    small_day: SmallDay, engine: Engine
) -> None:
    with pytest.raises(PermissionDenied, match="dispatcher"):
        change_component_state(
            engine, user=DAG, key="sms", state=ComponentState.MAJOR_OUTAGE, note=""
        )


def test_the_journal_view_filters_by_kind_and_subject(
    small_day: SmallDay, engine: Engine
) -> None:
    with Session(engine) as session:
        orders = latest_events(session, kinds=("ParcelOrdered",))
        parcel_two = latest_events(session, subject="parcel:2")
        kinds = event_kinds(session)

    assert [e.kind for e in orders] == ["ParcelOrdered"] * 5
    assert [e.seq for e in orders] == sorted((e.seq for e in orders), reverse=True)
    assert {e.subject for e in parcel_two} == {"parcel:2"}
    assert "ComponentAdded" in kinds
    assert kinds == sorted(kinds)


def test_verifying_an_intact_journal_gives_its_head(
    small_day: SmallDay, engine: Engine
) -> None:
    check = verify_journal_now(engine)

    with Session(engine) as session:
        newest = session.scalar(
            select(JournalEvent.seq).order_by(JournalEvent.seq.desc())
        )
    assert check.intact is True
    assert check.head_seq == newest


def test_verifying_an_edited_journal_names_the_event(
    small_day: SmallDay, engine: Engine
) -> None:
    with Session(engine) as session, session.begin():
        session.execute(
            update(JournalEvent).where(JournalEvent.seq == 7).values(actor="mallory")
        )

    check = verify_journal_now(engine)

    assert check.intact is False
    assert check.broken_seq == 7
    assert "edited" in check.problem


def test_the_journal_screen_shows_decision_words_but_no_personal_payload(
    session: Session,
) -> None:
    append_event(
        session,
        kind="DegradationDeclared",
        subject="degradation:1",
        actor="dana",
        payload={"summary": "Van CP 10003 lost (gearbox)", "details": {"lat": 59.9}},
    )
    append_event(
        session,
        kind="PartyRegistered",
        subject="party:1",
        actor="shop",
        payload={"name": "Kari Nordmann", "summary": "Kari Nordmann, Storgata 1"},
    )

    rows = {row.kind: row.what for row in latest_events(session)}

    assert rows["DegradationDeclared"] == "Van CP 10003 lost (gearbox)"
    assert rows["PartyRegistered"] == ""
