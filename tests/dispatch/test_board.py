"""The dispatch screen's reads and actions, as the signed-in user."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from controlroom.auth.models import Role
from controlroom.clock import SimulatedClock
from controlroom.demo.simulator import run_simulation
from controlroom.dispatch.actions import (
    declare,
    end_declaration,
    publish_now,
    published_manifests,
    replan_now,
)
from controlroom.dispatch.board import dispatch_board
from controlroom.dispatch.manifest import sms_manifest
from controlroom.dispatch.models import DegradationKind, Plan, PlanStatus, Stop
from controlroom.dispatch.publishing import Channel
from controlroom.dispatch.replanning import SearchBudget
from controlroom.errors import DispatchError, PermissionDenied
from controlroom.journal.models import JournalEvent
from controlroom.messaging.gsm import gsm_septets
from controlroom.orders.models import Parcel
from controlroom.session_frame import SignedInUser
from tests.dispatch.conftest import MID_MORNING, Morning

OSLO = ZoneInfo("Europe/Oslo")
DISPATCHER = SignedInUser("dana", "Dana", Role.DISPATCHER)
OPS = SignedInUser("olga", "Olga", Role.OPS)
QUICK = SearchBudget(max_solutions=0)


def test_ops_may_look_at_dispatch_but_not_declare(morning: Morning) -> None:
    board = dispatch_board(morning.engine)

    with pytest.raises(PermissionDenied, match="may not declare a degradation"):
        declare(morning.engine, user=OPS, kind=DegradationKind.DRIVER_APP_DOWN)
    assert board.published is not None
    assert board.declared == ()


def test_a_declared_lost_van_shows_on_the_board_and_in_the_journal(
    morning: Morning,
) -> None:
    summary = declare(
        morning.engine,
        user=DISPATCHER,
        kind=DegradationKind.VEHICLE_LOST,
        plate="CP 10003",
        note="gearbox",
    )

    board = dispatch_board(morning.engine)
    assert summary == "Van CP 10003 lost (gearbox)"
    assert [d.summary for d in board.declared] == [summary]
    assert [plate for plate, _, _ in board.lost_vans] == ["CP 10003"]
    with Session(morning.engine) as session:
        actors = session.scalars(
            select(JournalEvent.actor).where(JournalEvent.kind == "DegradationDeclared")
        ).all()
    assert actors == ["dana"]


def test_an_unknown_plate_is_refused(morning: Morning) -> None:
    with pytest.raises(DispatchError, match="No van has the plate 'XX 1'"):
        declare(
            morning.engine,
            user=DISPATCHER,
            kind=DegradationKind.VEHICLE_LOST,
            plate="XX 1",
        )


def test_ending_a_declaration_twice_is_refused(morning: Morning) -> None:
    declare(morning.engine, user=DISPATCHER, kind=DegradationKind.DRIVER_APP_DOWN)
    board = dispatch_board(morning.engine)
    item = board.declared[0].id
    end_declaration(morning.engine, user=DISPATCHER, declaration=item, zone=OSLO)

    with pytest.raises(DispatchError, match="has already ended"):
        end_declaration(morning.engine, user=DISPATCHER, declaration=item, zone=OSLO)


def test_the_board_shows_a_draft_with_its_diff(morning: Morning) -> None:
    declare(
        morning.engine,
        user=DISPATCHER,
        kind=DegradationKind.VEHICLE_LOST,
        plate="CP 10003",
    )

    version = replan_now(
        morning.engine, user=DISPATCHER, reason="van lost", zone=OSLO, budget=QUICK
    )

    board = dispatch_board(morning.engine)
    assert board.draft is not None and board.draft.version == version
    assert board.diff is not None
    assert {c.before for c in board.diff.moved} == {"CP 10003"}
    assert "CP 10003" not in {r.plate for r in board.draft.routes}


def test_publishing_while_the_app_is_down_returns_sms_sized_manifests(
    morning: Morning,
) -> None:
    declare(morning.engine, user=DISPATCHER, kind=DegradationKind.DRIVER_APP_DOWN)
    version = replan_now(
        morning.engine, user=DISPATCHER, reason="app down", zone=OSLO, budget=QUICK
    )

    done = publish_now(morning.engine, user=DISPATCHER, version=version, zone=OSLO)

    assert done.channels == (Channel.SMS, Channel.PRINT)
    assert done.manifests
    texts = [t for m in done.manifests for t in sms_manifest(m, zone=OSLO)]
    assert all(gsm_septets(text) <= 160 for text in texts)
    with Session(morning.engine) as session:
        plan = session.scalars(select(Plan).where(Plan.version == version)).one()
        assert plan.status is PlanStatus.PUBLISHED


def test_publishing_a_superseded_draft_is_refused(morning: Morning) -> None:
    first = replan_now(
        morning.engine, user=DISPATCHER, reason="one", zone=OSLO, budget=QUICK
    )
    replan_now(morning.engine, user=DISPATCHER, reason="two", zone=OSLO, budget=QUICK)

    with pytest.raises(DispatchError, match="superseded; only a draft"):
        publish_now(morning.engine, user=DISPATCHER, version=first, zone=OSLO)


def test_ending_the_scheduler_outage_schedules_the_orders_that_waited(
    morning: Morning,
) -> None:
    declare(morning.engine, user=DISPATCHER, kind=DegradationKind.SCHEDULER_DOWN)
    run_simulation(
        morning.engine, speed=60, fast=True, until=MID_MORNING + timedelta(hours=2)
    )
    waiting_before = len(dispatch_board(morning.engine).backlog)
    item = dispatch_board(morning.engine).declared[0].id

    said = end_declaration(morning.engine, user=DISPATCHER, declaration=item, zone=OSLO)

    assert waiting_before > 0
    assert "waiting order" in said and "scheduled" in said
    assert len(dispatch_board(morning.engine).backlog) < waiting_before


def test_while_the_app_is_down_new_orders_wait_for_a_published_replan(
    morning: Morning,
) -> None:
    declare(morning.engine, user=DISPATCHER, kind=DegradationKind.DRIVER_APP_DOWN)
    version = replan_now(
        morning.engine, user=DISPATCHER, reason="app down", zone=OSLO, budget=QUICK
    )
    publish_now(morning.engine, user=DISPATCHER, version=version, zone=OSLO)
    with Session(morning.engine) as session:
        known = set(session.scalars(select(Parcel.id)))

    run_simulation(
        morning.engine, speed=60, fast=True, until=MID_MORNING + timedelta(hours=1)
    )

    with Session(morning.engine) as session:
        arrived = set(session.scalars(select(Parcel.id))) - known
        in_plan = set(
            session.scalars(select(Stop.parcel_id).where(Stop.parcel_id.in_(arrived)))
        )
    assert arrived
    assert in_plan == set()
    assert len(dispatch_board(morning.engine).backlog) >= len(arrived)


def test_sheets_printed_again_later_mark_stops_whose_time_has_passed(
    morning: Morning,
) -> None:
    declare(morning.engine, user=DISPATCHER, kind=DegradationKind.DRIVER_APP_DOWN)
    version = replan_now(
        morning.engine, user=DISPATCHER, reason="app down", zone=OSLO, budget=QUICK
    )
    sent = publish_now(morning.engine, user=DISPATCHER, version=version, zone=OSLO)
    with Session(morning.engine) as session, session.begin():
        first = min(s.eta for m in sent.manifests for s in m.stops)
        session.execute(update(SimulatedClock).values(now=first + timedelta(minutes=1)))

    again = published_manifests(morning.engine)

    notes = {s.eta: s.note for m in again for s in m.stops}
    assert "overdue" in notes[first]
    assert all("overdue" not in s.note for m in sent.manifests for s in m.stops)
