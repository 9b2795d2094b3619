"""Components and their state, given a session."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from controlroom.errors import HealthError
from controlroom.health.models import (
    Component,
    ComponentKind,
    ComponentState,
    HealthReport,
)
from controlroom.health.posture import PostureLevel
from controlroom.health.service import (
    add_component,
    component_statuses,
    current_posture,
    get_component,
    release_component,
    report_health,
    set_component_state,
)
from tests.conftest import DAY
from tests.orders.world import head_seq, kinds_after

LATER = DAY + timedelta(minutes=10)


@pytest.fixture
def node(session: Session) -> Component:
    """An operational payment node in Oslo."""
    return add_component(
        session,
        key="node-oslo",
        name="Payment node Oslo",
        kind=ComponentKind.PAYMENT_NODE,
        at=DAY,
        actor="ops",
        region="oslo",
        provider="core",
    )


def test_a_new_component_is_operational_and_journalled(session: Session) -> None:
    before = head_seq(session)

    component = add_component(
        session,
        key="shop",
        name="Web shop",
        kind=ComponentKind.WEB_SHOP,
        at=DAY,
        actor="o",
    )

    assert component.state is ComponentState.OPERATIONAL
    assert component.state_since == DAY
    assert kinds_after(session, before) == ["ComponentAdded"]


def test_a_component_is_found_by_key(session: Session, node: Component) -> None:
    assert get_component(session, key="node-oslo") is node


def test_an_unknown_component_is_named(session: Session) -> None:
    with pytest.raises(HealthError, match="no component called 'node-mars'"):
        get_component(session, key="node-mars")


def test_a_state_change_is_journalled_with_its_time(
    session: Session, node: Component
) -> None:
    before = head_seq(session)

    changed = set_component_state(
        session,
        component=node,
        state=ComponentState.MAJOR_OUTAGE,
        at=LATER,
        actor="probe",
        note="no blocks for 40 minutes",
    )

    assert changed is True
    assert (node.state, node.state_since) == (ComponentState.MAJOR_OUTAGE, LATER)
    assert kinds_after(session, before) == ["ComponentStateChanged"]


def test_setting_the_same_state_writes_nothing(
    session: Session, node: Component
) -> None:
    before = head_seq(session)

    changed = set_component_state(
        session, component=node, state=ComponentState.OPERATIONAL, at=LATER, actor="o"
    )

    assert changed is False
    assert kinds_after(session, before) == []


def test_a_new_note_alone_is_journalled_but_keeps_the_state_time(
    session: Session, node: Component
) -> None:
    set_component_state(
        session,
        component=node,
        state=ComponentState.OPERATIONAL,
        at=LATER,
        actor="ops",
        note="maintenance at 22:00",
    )

    assert node.state_since == DAY
    assert node.note == "maintenance at 22:00"


def test_a_probe_result_is_kept_and_only_a_change_journalled(
    session: Session, node: Component
) -> None:
    before = head_seq(session)

    same = report_health(
        session,
        component=node,
        state=ComponentState.OPERATIONAL,
        at=LATER,
        actor="probe",
        latency_ms=80,
    )
    down = report_health(
        session,
        component=node,
        state=ComponentState.PARTIAL_OUTAGE,
        at=LATER,
        actor="probe",
        detail="timeouts",
    )

    assert (same, down) == (False, True)
    assert session.scalar(select(func.count()).select_from(HealthReport)) == 2
    assert kinds_after(session, before) == ["ComponentStateChanged"]
    assert node.note == "timeouts"


def test_the_posture_follows_the_stored_states(
    session: Session, node: Component
) -> None:
    add_component(
        session,
        key="node-bergen",
        name="Payment node Bergen",
        kind=ComponentKind.PAYMENT_NODE,
        at=DAY,
        actor="ops",
    )
    set_component_state(
        session, component=node, state=ComponentState.MAJOR_OUTAGE, at=LATER, actor="o"
    )

    posture = current_posture(session)

    assert [s.key for s in component_statuses(session)] == ["node-oslo", "node-bergen"]
    assert posture.level is PostureLevel.DEGRADED
    assert [f.key for f in posture.fallbacks] == ["payment_node_failover"]


def test_a_state_a_person_holds_is_not_undone_by_the_probes(
    session: Session, node: Component
) -> None:
    set_component_state(
        session,
        component=node,
        state=ComponentState.MAJOR_OUTAGE,
        at=DAY,
        actor="ops",
        note="isolated after a suspected compromise",
        hold=True,
    )

    changed = report_health(
        session,
        component=node,
        state=ComponentState.OPERATIONAL,
        at=LATER,
        actor="health-probe",
        latency_ms=40,
    )

    assert changed is False
    assert node.state is ComponentState.MAJOR_OUTAGE
    assert node.held_by == "ops"
    reports = session.scalar(select(func.count()).select_from(HealthReport))
    assert reports == 1


def test_released_component_follows_its_probes_again(
    session: Session, node: Component
) -> None:
    set_component_state(
        session,
        component=node,
        state=ComponentState.MAJOR_OUTAGE,
        at=DAY,
        actor="ops",
        hold=True,
    )
    before = head_seq(session)

    release_component(session, component=node, at=LATER, actor="mgmt")
    report_health(
        session,
        component=node,
        state=ComponentState.OPERATIONAL,
        at=LATER,
        actor="health-probe",
    )

    assert node.held_by is None
    assert node.state is ComponentState.OPERATIONAL
    assert kinds_after(session, before) == [
        "ComponentReleased",
        "ComponentStateChanged",
    ]


def test_releasing_a_component_nobody_holds_is_refused(
    session: Session, node: Component
) -> None:
    with pytest.raises(HealthError, match="is not held"):
        release_component(session, component=node, at=LATER, actor="ops")


def test_declaring_operational_hands_the_component_back_to_its_probes(
    session: Session, node: Component
) -> None:
    set_component_state(
        session,
        component=node,
        state=ComponentState.MAJOR_OUTAGE,
        at=DAY,
        actor="ops",
        hold=True,
    )
    set_component_state(
        session,
        component=node,
        state=ComponentState.OPERATIONAL,
        at=LATER,
        actor="ops",
        hold=True,
    )

    report_health(
        session,
        component=node,
        state=ComponentState.PARTIAL_OUTAGE,
        at=LATER + timedelta(minutes=1),
        actor="health-probe",
    )

    assert node.held_by is None
    assert node.state is ComponentState.PARTIAL_OUTAGE


def test_declaring_the_same_state_without_a_note_keeps_the_note(
    session: Session, node: Component
) -> None:
    for note in ("isolated; Olga is on it", ""):
        set_component_state(
            session,
            component=node,
            state=ComponentState.MAJOR_OUTAGE,
            at=DAY,
            actor="ops",
            note=note,
            hold=True,
        )

    assert node.note == "isolated; Olga is on it"
