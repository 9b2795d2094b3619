"""Components follow their open incidents (the issue's check among them)."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from controlroom.errors import IncidentError
from controlroom.health.models import ComponentState
from controlroom.health.service import get_component, report_health
from controlroom.incidents.models import IncidentStatus
from controlroom.incidents.service import (
    attach_component,
    change_status,
    detach_component,
    get_incident,
)
from tests.incidents.conftest import at, new_incident

DEGRADED = ComponentState.DEGRADED_PERFORMANCE
MAJOR = ComponentState.MAJOR_OUTAGE


def payments(engine: Engine) -> tuple[ComponentState, str | None]:
    with Session(engine) as session:
        component = get_component(session, key="payments")
        return component.state, component.held_by


def resolve(engine: Engine, incident_id: int, minutes: int) -> None:
    with Session(engine) as session, session.begin():
        change_status(
            session,
            incident=get_incident(session, incident_id=incident_id),
            status=IncidentStatus.RESOLVED,
            at=at(minutes),
            actor="mona",
        )


def test_two_incidents_hold_payments_resolving_one_leaves_it_degraded_resolving_both_clears_it(  # noqa: E501
    any_components: Engine,
) -> None:
    engine = any_components
    with Session(engine) as session, session.begin():
        first = new_incident(session, components={"payments": DEGRADED}).id
        second = new_incident(
            session, title="Node EU down", minutes=5, components={"payments": MAJOR}
        ).id
    held_by_both = payments(engine)

    resolve(engine, second, 30)
    held_by_first = payments(engine)
    resolve(engine, first, 40)

    assert held_by_both == (MAJOR, "mona")
    assert held_by_first == (DEGRADED, "mona")
    assert payments(engine) == (ComponentState.OPERATIONAL, None)


def test_two_incidents_at_the_same_impact_keep_it_until_the_last_resolves(
    components: Engine,
) -> None:
    with Session(components) as session, session.begin():
        first = new_incident(session, components={"payments": DEGRADED}).id
        second = new_incident(session, minutes=1, components={"payments": DEGRADED}).id

    resolve(components, first, 20)
    after_first = payments(components)
    resolve(components, second, 21)

    assert after_first == (DEGRADED, "mona")
    assert payments(components) == (ComponentState.OPERATIONAL, None)


def test_a_held_component_ignores_probes_until_its_incident_lets_go(
    components: Engine,
) -> None:
    with Session(components) as session, session.begin():
        incident = new_incident(session, components={"payments": MAJOR})
        report_health(
            session,
            component=get_component(session, key="payments"),
            state=ComponentState.OPERATIONAL,
            at=at(2),
            actor="probe",
        )
        probed = get_component(session, key="payments").state

        detach_component(
            session, incident=incident, key="payments", at=at(3), actor="mona"
        )

    assert probed is MAJOR
    assert payments(components) == (ComponentState.OPERATIONAL, None)


def test_changing_the_impact_keeps_the_earlier_attachment_in_history(
    components: Engine,
) -> None:
    with Session(components) as session, session.begin():
        incident = new_incident(session, components={"payments": DEGRADED})

        attach_component(
            session,
            incident=incident,
            key="payments",
            impact=MAJOR,
            at=at(9),
            actor="mona",
        )

    assert payments(components) == (MAJOR, "mona")


def test_attaching_an_unknown_component_names_the_known_ones(
    components: Engine,
) -> None:
    with Session(components) as session, session.begin():
        incident = new_incident(session)

        with pytest.raises(
            IncidentError, match=r"no component called 'payment'.*payments"
        ):
            attach_component(
                session,
                incident=incident,
                key="payment",
                impact=MAJOR,
                at=at(1),
                actor="mona",
            )


def test_holding_a_component_at_operational_is_refused(components: Engine) -> None:
    with Session(components) as session, session.begin():
        incident = new_incident(session)

        with pytest.raises(
            IncidentError, match="cannot hold payments at 'operational'"
        ):
            attach_component(
                session,
                incident=incident,
                key="payments",
                impact=ComponentState.OPERATIONAL,
                at=at(1),
                actor="mona",
            )


def test_detaching_a_component_the_incident_does_not_hold_is_refused(
    components: Engine,
) -> None:
    with Session(components) as session, session.begin():
        incident = new_incident(session)

        with pytest.raises(IncidentError, match="does not hold SMS gateway"):
            detach_component(
                session, incident=incident, key="sms", at=at(1), actor="mona"
            )
