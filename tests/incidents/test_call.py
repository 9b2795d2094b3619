"""The open call: participants, the call-in queue and decisions."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from controlroom.errors import IncidentError
from controlroom.incidents.models import CallItemKind, CallItemState, Decision
from controlroom.incidents.service import (
    act_on_item,
    hear_item,
    join_call,
    leave_call,
    raise_call_item,
    record_decision,
)
from controlroom.journal.service import journal_head
from tests.incidents.conftest import at, new_incident


def test_an_item_waits_is_heard_and_is_acted_on_with_who_and_when(
    components: Engine,
) -> None:
    with Session(components) as session, session.begin():
        incident = new_incident(session)
        item = raise_call_item(
            session,
            incident=incident,
            kind=CallItemKind.PROBLEM,
            raised_by="VAN-3",
            text="Customer at stop 4 wants to pay cash",
            at=at(3),
            actor="dag",
        )
        waiting = item.state

        hear_item(session, item=item, at=at(4), actor="mona")
        act_on_item(
            session,
            item=item,
            action="Told the driver to leave the parcel; invoice stays open",
            at=at(6),
            actor="mona",
        )

        assert waiting is CallItemState.WAITING
        assert (item.state, item.heard_by, item.heard_at) == (
            CallItemState.ACTED_ON,
            "mona",
            at(4),
        )
        assert (item.acted_by, item.acted_at) == ("mona", at(6))


def test_hearing_an_item_twice_is_refused_and_writes_nothing(
    components: Engine,
) -> None:
    with Session(components) as session, session.begin():
        incident = new_incident(session)
        item = raise_call_item(
            session,
            incident=incident,
            kind=CallItemKind.QUESTION,
            raised_by="VAN-1",
            text="Do we still take Lightning?",
            at=at(3),
            actor="dag",
        )
        hear_item(session, item=item, at=at(4), actor="mona")
        head = journal_head(session)

        with pytest.raises(IncidentError, match="already heard by mona"):
            hear_item(session, item=item, at=at(5), actor="olga")

        assert (item.heard_by, item.heard_at) == ("mona", at(4))
        assert journal_head(session) == head


def test_acting_needs_a_note_of_what_was_done(components: Engine) -> None:
    with Session(components) as session, session.begin():
        incident = new_incident(session)
        item = raise_call_item(
            session,
            incident=incident,
            kind=CallItemKind.IDEA,
            raised_by="Kari",
            text="Post the delay on the status site",
            at=at(3),
            actor="dag",
        )

        with pytest.raises(IncidentError, match="note of what was done is empty"):
            act_on_item(session, item=item, action=" ", at=at(4), actor="mona")

        assert item.state is CallItemState.WAITING


def test_acting_on_an_item_twice_is_refused(components: Engine) -> None:
    with Session(components) as session, session.begin():
        incident = new_incident(session)
        item = raise_call_item(
            session,
            incident=incident,
            kind=CallItemKind.IDEA,
            raised_by="Kari",
            text="Post the delay on the status site",
            at=at(3),
            actor="dag",
        )
        act_on_item(session, item=item, action="Posted", at=at(4), actor="mona")

        with pytest.raises(IncidentError, match="already acted on by mona: Posted"):
            act_on_item(session, item=item, action="Again", at=at(5), actor="olga")


def test_joining_twice_is_refused_and_leaving_ends_the_stay(
    components: Engine,
) -> None:
    with Session(components) as session, session.begin():
        incident = new_incident(session)
        join_call(session, incident=incident, name="VAN-3", at=at(1), actor="dag")

        with pytest.raises(IncidentError, match="VAN-3 is already on the call"):
            join_call(session, incident=incident, name="VAN-3", at=at(2), actor="dag")
        stay = leave_call(
            session, incident=incident, name="VAN-3", at=at(9), actor="dag"
        )
        with pytest.raises(IncidentError, match="VAN-3 is not on the call"):
            leave_call(session, incident=incident, name="VAN-3", at=at(10), actor="dag")

        assert (stay.joined_at, stay.left_at) == (at(1), at(9))


def test_a_decision_keeps_who_took_it(components: Engine) -> None:
    with Session(components) as session, session.begin():
        incident = new_incident(session)

        record_decision(
            session,
            incident=incident,
            text="Ship paid on-chain orders after one confirmation",
            decided_by="Mona",
            at=at(12),
            actor="mona",
        )

        stored = session.scalars(select(Decision)).one()
        assert (stored.decided_by, stored.at) == ("Mona", at(12))
