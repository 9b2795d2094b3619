"""Incident roles: one holder at a time, every hand-over kept."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from controlroom.errors import IncidentError
from controlroom.incidents.models import IncidentRole, IncidentStatus, RoleTerm
from controlroom.incidents.service import (
    assign_role,
    change_status,
    current_roles,
    get_incident,
)
from tests.incidents.conftest import at, new_incident

COMMANDER = IncidentRole.COMMANDER


def test_a_hand_over_ends_the_previous_holders_term(any_components: Engine) -> None:
    engine = any_components
    with Session(engine) as session, session.begin():
        incident = new_incident(session)
        assign_role(
            session,
            incident=incident,
            role=COMMANDER,
            holder="Mona",
            at=at(1),
            actor="mona",
        )
        assign_role(
            session,
            incident=incident,
            role=IncidentRole.SCRIBE,
            holder="Olga",
            at=at(2),
            actor="mona",
        )
        number = incident.id
    with Session(engine) as session, session.begin():
        assign_role(
            session,
            incident=get_incident(session, incident_id=number),
            role=COMMANDER,
            holder="Dag",
            at=at(45),
            actor="mona",
        )

    with Session(engine) as session:
        terms = session.scalars(
            select(RoleTerm).where(RoleTerm.role == COMMANDER).order_by(RoleTerm.since)
        ).all()
        history = [(t.holder, t.since, t.until, t.handed_over_by) for t in terms]
        holders = {
            role: term.holder
            for role, term in current_roles(
                session, incident=get_incident(session, incident_id=number)
            ).items()
        }
    assert history == [("Mona", at(1), at(45), "mona"), ("Dag", at(45), None, None)]
    assert holders == {COMMANDER: "Dag", IncidentRole.SCRIBE: "Olga"}


def test_handing_a_role_to_its_holder_is_refused(components: Engine) -> None:
    with Session(components) as session, session.begin():
        incident = new_incident(session)
        assign_role(
            session,
            incident=incident,
            role=COMMANDER,
            holder="Mona",
            at=at(1),
            actor="mona",
        )

        with pytest.raises(IncidentError, match="Mona is already commander"):
            assign_role(
                session,
                incident=incident,
                role=COMMANDER,
                holder="Mona",
                at=at(2),
                actor="mona",
            )


def test_a_hand_over_before_the_current_term_began_is_refused(
    components: Engine,
) -> None:
    with Session(components) as session, session.begin():
        incident = new_incident(session)
        assign_role(
            session,
            incident=incident,
            role=COMMANDER,
            holder="Mona",
            at=at(10),
            actor="mona",
        )

        with pytest.raises(IncidentError, match="cannot come before that"):
            assign_role(
                session,
                incident=incident,
                role=COMMANDER,
                holder="Dag",
                at=at(5),
                actor="mona",
            )


def test_roles_of_a_resolved_incident_stay_as_they_were(components: Engine) -> None:
    with Session(components) as session, session.begin():
        incident = new_incident(session)
        change_status(
            session,
            incident=incident,
            status=IncidentStatus.RESOLVED,
            at=at(3),
            actor="mona",
        )

        with pytest.raises(IncidentError, match="reopen it before handing over"):
            assign_role(
                session,
                incident=incident,
                role=COMMANDER,
                holder="Dag",
                at=at(5),
                actor="mona",
            )
