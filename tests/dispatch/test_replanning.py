"""Re-planning the live demo day: declare, re-plan, review the diff, publish."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from controlroom.demo.simulator import run_simulation
from controlroom.dispatch.day_reading import take_snapshot
from controlroom.dispatch.degradations import (
    active_degradations,
    declare_area_closed,
    declare_depot_lost,
    declare_driver_app_down,
    declare_road_closed,
    declare_scheduler_down,
    declare_vehicle_lost,
    end_degradation,
)
from controlroom.dispatch.models import (
    Depot,
    Plan,
    PlanStatus,
    Route,
    Stop,
    StopKind,
    StopStatus,
    Vehicle,
    VehicleStatus,
)
from controlroom.dispatch.plan_diff import plan_diff
from controlroom.dispatch.publishing import Channel, publish
from controlroom.dispatch.replanning import SearchBudget, replan
from controlroom.dispatch.snapshot import parcel_key, vehicle_key
from controlroom.errors import DispatchError
from controlroom.health.models import Component, ComponentKind, ComponentState
from controlroom.health.service import set_component_state
from controlroom.journal.models import JournalEvent
from controlroom.orders.models import Parcel, ParcelStatus
from tests.dispatch.conftest import EARLY, MID_MORNING, OSLO, Morning

REPAIR = SearchBudget(max_solutions=0)
SEARCH = SearchBudget(max_solutions=40, time_limit=None, seed=3)


def busiest_van(session: Session) -> Vehicle:
    """The van with the most parcels on board at 10:30."""
    snapshot = take_snapshot(session, at=MID_MORNING, zone=OSLO)
    best = max(snapshot.problem.vehicles, key=lambda v: (len(v.on_board), v.id))
    return snapshot.vehicles[best.id]


def draft(session: Session, budget: SearchBudget = REPAIR) -> Plan:
    return replan(
        session,
        at=MID_MORNING,
        zone=OSLO,
        actor="dispatcher",
        reason="test",
        budget=budget,
    )


def test_a_lost_vans_parcels_are_collected_where_it_stopped(morning: Morning) -> None:
    with Session(morning.engine) as session, session.begin():
        van = busiest_van(session)
        carried = {
            p.id
            for p in take_snapshot(session, at=MID_MORNING, zone=OSLO)
            .problem.vehicle(vehicle_key(van.id))
            .on_board  # type: ignore[union-attr]
        }
        declare_vehicle_lost(session, vehicle=van, at=MID_MORNING, actor="dispatcher")

        snapshot = take_snapshot(session, at=MID_MORNING, zone=OSLO)

        assert snapshot.problem.vehicle(vehicle_key(van.id)) is None
        assert carried and carried <= snapshot.transfers
        for key in carried:
            shipment = snapshot.problem.shipment(key)
            assert shipment is not None
            assert shipment.pickup.location_id == f"lost:{van.id}"
            assert snapshot.places[f"lost:{van.id}"] == (van.lat, van.lon)


def test_a_breakdown_with_a_spare_van_moves_only_the_lost_vans_stops(
    morning: Morning,
) -> None:
    with Session(morning.engine) as session, session.begin():
        van = busiest_van(session)
        declare_vehicle_lost(session, vehicle=van, at=MID_MORNING, actor="dispatcher")

        new = draft(session, SEARCH)
        diff = plan_diff(session, draft=new)

        assert diff.moved
        assert {change.before for change in diff.moved} == {van.plate}
        assert not diff.newly_unserved
        transfers = [
            s for r in new.routes for s in r.stops if s.kind is StopKind.TRANSFER
        ]
        assert transfers and all(
            (s.lat, s.lon) == (van.lat, van.lon) for s in transfers
        )


def test_a_replan_is_a_new_draft_version_that_supersedes_the_last_draft(
    morning: Morning,
) -> None:
    with Session(morning.engine) as session, session.begin():
        published = session.scalar(
            select(Plan).where(Plan.status == PlanStatus.PUBLISHED)
        )
        assert published is not None
        first = draft(session)
        second = draft(session)

        assert first.status is PlanStatus.SUPERSEDED
        assert second.status is PlanStatus.DRAFT
        assert second.version == first.version + 1
        assert second.base_version == published.version
        event = session.scalars(
            select(JournalEvent)
            .where(JournalEvent.kind == "PlanCreated")
            .order_by(JournalEvent.seq.desc())
        ).first()
        assert event is not None
        assert event.subject == f"plan:{second.version}"


def test_every_van_gets_a_route_in_a_new_plan_even_when_idle(morning: Morning) -> None:
    with Session(morning.engine) as session, session.begin():
        vans = session.scalar(select(func.count()).select_from(Vehicle))

        new = draft(session)

        assert len(new.routes) == vans


def test_a_closed_area_leaves_its_parcels_unserved_with_that_reason(
    morning: Morning,
) -> None:
    with Session(morning.engine) as session, session.begin():
        waiting = session.scalars(
            select(Parcel).where(Parcel.status == ParcelStatus.ORDERED)
        ).first()
        assert waiting is not None
        code = waiting.recipient.postcode
        declare_area_closed(
            session, postcodes=[code], at=MID_MORNING, actor="dispatcher"
        )

        new = draft(session, SEARCH)

        reasons = {u.parcel_id: u.reason for u in new.unserved}
        why = {u.parcel_id: u.explanation for u in new.unserved}
        assert reasons[waiting.id] == "area_closed"
        assert f"postcode {code}" in why[waiting.id]
        assert "party:" not in why[waiting.id]
        served = {s.parcel_id for r in new.routes for s in r.stops}
        assert waiting.id not in served


def test_a_lost_depot_sends_its_vans_to_the_fallback(morning: Morning) -> None:
    with Session(morning.engine) as session, session.begin():
        home, reserve = session.scalars(select(Depot).order_by(Depot.id)).all()
        declare_depot_lost(
            session, depot=home, fallback=reserve, at=MID_MORNING, actor="dispatcher"
        )

        snapshot = take_snapshot(session, at=MID_MORNING, zone=OSLO)
        new = draft(session, SEARCH)

        assert {v.end_depot_id for v in snapshot.problem.vehicles} == {
            f"depot:{reserve.id}"
        }
        assert new.status is PlanStatus.DRAFT


def test_a_road_closure_between_two_areas_closes_both_directions(
    morning: Morning,
) -> None:
    with Session(morning.engine) as session, session.begin():
        parcels = session.scalars(
            select(Parcel).where(Parcel.status == ParcelStatus.ORDERED)
        ).all()
        first = parcels[0].sender.postcode
        second = next(
            p.recipient.postcode for p in parcels if p.recipient.postcode != first
        )
        declare_road_closed(
            session, between=(first, second), at=MID_MORNING, actor="dispatcher"
        )

        problem = take_snapshot(session, at=MID_MORNING, zone=OSLO).problem

        assert problem.closed_roads
        assert all((b, a) in problem.closed_roads for a, b in problem.closed_roads)


def test_orders_that_arrive_while_the_scheduler_is_down_wait_for_a_replan(
    morning: Morning,
) -> None:
    with Session(morning.engine) as session, session.begin():
        declare_scheduler_down(
            session, since=MID_MORNING, at=MID_MORNING, actor="dispatcher"
        )
    later = MID_MORNING + timedelta(hours=2)
    run_simulation(morning.engine, speed=60, fast=True, until=later)

    with Session(morning.engine) as session, session.begin():
        in_plan = select(Stop.parcel_id).where(Stop.status == StopStatus.PLANNED)
        backlog = session.scalars(
            select(Parcel.id).where(
                Parcel.status == ParcelStatus.ORDERED,
                Parcel.ordered_at > MID_MORNING,
                Parcel.id.not_in(in_plan),
            )
        ).all()
        new = replan(
            session,
            at=later,
            zone=OSLO,
            actor="dispatcher",
            reason="scheduler back",
            budget=SEARCH,
        )
        diff = plan_diff(session, draft=new)

        assert backlog
        planned = {c.parcel_id for c in diff.newly_planned}
        unserved = {u.parcel_id for u in new.unserved}
        assert set(backlog) <= planned | unserved
        assert set(backlog) & planned


def test_while_the_driver_app_is_down_a_plan_goes_out_by_sms_and_print(
    morning: Morning,
) -> None:
    with Session(morning.engine) as session, session.begin():
        declare_driver_app_down(session, at=MID_MORNING, actor="dispatcher")
        new = draft(session)

        with pytest.raises(DispatchError, match="driver app is declared down"):
            publish(
                session,
                draft=new,
                at=MID_MORNING,
                zone=OSLO,
                actor="dispatcher",
                channels=[Channel.APP],
            )
        done = publish(session, draft=new, at=MID_MORNING, zone=OSLO, actor="lead")

        assert done.channels == (Channel.SMS, Channel.PRINT)
        assert new.status is PlanStatus.PUBLISHED


def test_publishing_brings_a_reviewed_draft_up_to_date(morning: Morning) -> None:
    with Session(morning.engine) as session, session.begin():
        van = busiest_van(session)
        declare_vehicle_lost(session, vehicle=van, at=MID_MORNING, actor="dispatcher")
        new = draft(session)
        version = new.version
    later = MID_MORNING + timedelta(minutes=45)
    run_simulation(morning.engine, speed=60, fast=True, until=later)

    with Session(morning.engine) as session, session.begin():
        reviewed = session.scalars(select(Plan).where(Plan.version == version)).one()
        done = publish(session, draft=reviewed, at=later, zone=OSLO, actor="dispatcher")

        assert done.brought_up_to_date
        stops = [s for r in reviewed.routes for s in r.stops]
        collected = {
            s.parcel_id
            for s in stops
            if s.kind is StopKind.PICKUP
            and session.get(Parcel, s.parcel_id).status  # type: ignore[union-attr]
            is not ParcelStatus.ORDERED
        }
        assert not collected


def test_after_a_breakdown_and_a_published_replan_no_parcel_is_stranded(
    morning: Morning,
) -> None:
    with Session(morning.engine) as session, session.begin():
        van = busiest_van(session)
        van_id = van.id
        declare_vehicle_lost(session, vehicle=van, at=MID_MORNING, actor="dispatcher")
        new = draft(session)
        publish(session, draft=new, at=MID_MORNING, zone=OSLO, actor="dispatcher")

    run_simulation(morning.engine, speed=60, fast=True)

    with Session(morning.engine) as session:
        open_parcels = session.scalars(
            select(Parcel.code).where(
                Parcel.status.in_([ParcelStatus.ORDERED, ParcelStatus.PICKED_UP])
            )
        ).all()
        # Orders placed after the re-plan were fitted in by the scheduler,
        # the lost van's parcels were collected and delivered.
        assert open_parcels == []
        lost = session.get(Vehicle, van_id)
        assert lost is not None and lost.status is VehicleStatus.LOST


def test_an_order_placed_after_a_replan_is_fitted_into_the_published_plan(
    morning: Morning,
) -> None:
    with Session(morning.engine) as session, session.begin():
        new = draft(session)
        publish(session, draft=new, at=MID_MORNING, zone=OSLO, actor="dispatcher")
        version = new.version
        known = set(session.scalars(select(Parcel.id)))
    later = MID_MORNING + timedelta(hours=1)
    run_simulation(morning.engine, speed=60, fast=True, until=later)

    with Session(morning.engine) as session:
        arrived = session.scalars(
            select(Parcel).where(Parcel.id.not_in(known)).order_by(Parcel.id)
        ).all()
        assert arrived
        for parcel in arrived:
            stops = session.scalars(
                select(Stop).where(Stop.parcel_id == parcel.id).order_by(Stop.sequence)
            ).all()
            assert [s.kind for s in stops] == [StopKind.PICKUP, StopKind.DELIVERY]
            assert stops[0].route_id == stops[1].route_id
            assert stops[0].route.plan.version == version


def test_declaring_a_van_lost_twice_is_refused(morning: Morning) -> None:
    with Session(morning.engine) as session, session.begin():
        van = busiest_van(session)
        declare_vehicle_lost(session, vehicle=van, at=MID_MORNING, actor="dispatcher")

        with pytest.raises(DispatchError, match="already declared lost"):
            declare_vehicle_lost(
                session, vehicle=van, at=MID_MORNING, actor="dispatcher"
            )


def test_ending_a_vans_loss_brings_it_back(morning: Morning) -> None:
    with Session(morning.engine) as session, session.begin():
        van = busiest_van(session)
        declared = declare_vehicle_lost(
            session, vehicle=van, at=MID_MORNING, actor="dispatcher"
        )

        end_degradation(
            session, degradation=declared, at=MID_MORNING, actor="dispatcher"
        )

        assert van.status is VehicleStatus.AVAILABLE
        assert active_degradations(session) == []


@pytest.mark.parametrize(
    ("postcodes", "message"),
    [
        (["12"], "is not a postcode"),
        (["9999"], "No sender or recipient has postcode 9999"),
        ([], "at least one postcode"),
    ],
)
def test_a_bad_area_is_refused_with_a_clear_message(
    morning: Morning, postcodes: list[str], message: str
) -> None:
    with Session(morning.engine) as session, session.begin():
        with pytest.raises(DispatchError, match=message):
            declare_area_closed(
                session, postcodes=postcodes, at=MID_MORNING, actor="dispatcher"
            )
        assert active_degradations(session) == []


def test_a_replan_without_a_reason_is_refused(morning: Morning) -> None:
    with (
        Session(morning.engine) as session,
        session.begin(),
        pytest.raises(DispatchError, match="Say why"),
    ):
        replan(session, at=MID_MORNING, zone=OSLO, actor="d", reason="  ")


def test_a_parcel_on_board_keeps_its_van(morning: Morning) -> None:
    with Session(morning.engine) as session, session.begin():
        snapshot = take_snapshot(session, at=MID_MORNING, zone=OSLO)
        carriers = {
            parcel.id: vehicle.id
            for vehicle in snapshot.problem.vehicles
            for parcel in vehicle.on_board
        }

        new = draft(session, SEARCH)

        delivered_by = {
            parcel_key(s.parcel_id): vehicle_key(r.vehicle_id)
            for r in new.routes
            for s in r.stops
            if s.kind is StopKind.DELIVERY
        }
        assert carriers
        assert all(delivered_by[p] == v for p, v in carriers.items())


def test_a_parcel_left_on_board_while_its_area_was_closed_returns_after(
    morning: Morning,
) -> None:
    with Session(morning.engine) as session, session.begin():
        snapshot = take_snapshot(session, at=MID_MORNING, zone=OSLO)
        carrier = next(v for v in snapshot.problem.vehicles if v.on_board)
        parcel = snapshot.parcels[carrier.on_board[0].id]
        closed = declare_area_closed(
            session,
            postcodes=[parcel.recipient.postcode],
            at=MID_MORNING,
            actor="dispatcher",
        )
        during = draft(session, SEARCH)
        publish(session, draft=during, at=MID_MORNING, zone=OSLO, actor="dispatcher")
        left_out = {u.parcel_id: u.reason for u in during.unserved}
        parcel_id = parcel.id
    later = MID_MORNING + timedelta(minutes=40)
    run_simulation(morning.engine, speed=60, fast=True, until=later)

    with Session(morning.engine) as session, session.begin():
        end_degradation(
            session,
            degradation=session.merge(closed),
            at=later,
            actor="dispatcher",
        )
        after = replan(
            session, at=later, zone=OSLO, actor="d", reason="reopened", budget=REPAIR
        )
        published = publish(session, draft=after, at=later, zone=OSLO, actor="d")

        delivered_by = {
            s.parcel_id: r.vehicle_id
            for r in after.routes
            for s in r.stops
            if s.kind is StopKind.DELIVERY
        }
        assert left_out[parcel_id] == "area_closed"
        assert vehicle_key(delivered_by[parcel_id]) == carrier.id
        assert published.plan.status is PlanStatus.PUBLISHED


def test_a_quick_replan_works_while_the_vans_run_behind(morning: Morning) -> None:
    afternoon = MID_MORNING + timedelta(hours=3)
    run_simulation(morning.engine, speed=60, fast=True, until=afternoon)

    with Session(morning.engine) as session, session.begin():
        new = replan(
            session, at=afternoon, zone=OSLO, actor="d", reason="check", budget=REPAIR
        )
        published = publish(session, draft=new, at=afternoon, zone=OSLO, actor="d")

        assert new.engine == "repair"
        assert published.plan.status is PlanStatus.PUBLISHED


def test_a_draft_reviewed_while_vans_drive_does_not_call_done_stops_new(
    morning: Morning,
) -> None:
    with Session(morning.engine) as session, session.begin():
        version = draft(session).version
    later = MID_MORNING + timedelta(minutes=45)
    run_simulation(morning.engine, speed=60, fast=True, until=later)

    with Session(morning.engine) as session:
        reviewed = session.scalars(select(Plan).where(Plan.version == version)).one()
        diff = plan_diff(session, draft=reviewed)

        assert diff.done_since > 0
        assert diff.newly_planned == ()


def test_declaring_the_driver_app_down_holds_its_component_down_until_ended(
    morning: Morning,
) -> None:
    with Session(morning.engine) as session, session.begin():
        declared = declare_driver_app_down(session, at=MID_MORNING, actor="dana")
        app = session.scalars(
            select(Component).where(Component.kind == ComponentKind.DRIVER_APP)
        ).one()
        during = (app.state, app.held_by)

        end_degradation(session, degradation=declared, at=MID_MORNING, actor="dana")

        assert during == (ComponentState.MAJOR_OUTAGE, "dana")
        assert (app.state, app.held_by) == (ComponentState.OPERATIONAL, None)


def test_ending_the_app_declaration_leaves_a_state_ops_set_since(
    morning: Morning,
) -> None:
    with Session(morning.engine) as session, session.begin():
        declared = declare_driver_app_down(session, at=MID_MORNING, actor="dana")
        app = session.scalars(
            select(Component).where(Component.kind == ComponentKind.DRIVER_APP)
        ).one()
        set_component_state(
            session,
            component=app,
            state=ComponentState.UNDER_MAINTENANCE,
            at=MID_MORNING,
            actor="olga",
            note="vendor patch",
            hold=True,
        )

        end_degradation(session, degradation=declared, at=MID_MORNING, actor="dana")

        assert (app.state, app.held_by) == (ComponentState.UNDER_MAINTENANCE, "olga")


def test_a_draft_published_late_sends_no_time_already_past(morning: Morning) -> None:
    with Session(morning.engine) as session, session.begin():
        van = busiest_van(session)
        declare_vehicle_lost(session, vehicle=van, at=MID_MORNING, actor="dispatcher")
        version = draft(session).version
    noon = MID_MORNING + timedelta(minutes=90)
    run_simulation(morning.engine, speed=60, fast=True, until=noon)

    with Session(morning.engine) as session, session.begin():
        reviewed = session.scalars(select(Plan).where(Plan.version == version)).one()
        publish(session, draft=reviewed, at=noon, zone=OSLO, actor="dispatcher")

        etas = [s.eta for r in reviewed.routes for s in r.stops]
        assert etas
        assert min(etas) >= noon - timedelta(seconds=1)


def test_a_backlog_order_whose_pickup_window_passed_says_so(morning: Morning) -> None:
    with Session(morning.engine) as session, session.begin():
        declare_scheduler_down(
            session, since=MID_MORNING, at=MID_MORNING, actor="dispatcher"
        )
    later = MID_MORNING + timedelta(hours=4)
    run_simulation(morning.engine, speed=60, fast=True, until=later)

    with Session(morning.engine) as session, session.begin():
        new = replan(
            session, at=later, zone=OSLO, actor="d", reason="back", budget=REPAIR
        )
        passed = [u for u in new.unserved if u.reason == "window_passed"]

        assert passed
        for item in passed:
            assert item.parcel.pickup_until < later
            assert "agree a new pickup time with the sender" in item.explanation


def lose_a_van_then_publish_late(early: Morning) -> tuple[int, datetime]:
    """Lose CP 10008 at 07:27, re-plan, let vans drive 23 minutes, publish."""
    with Session(early.engine) as session, session.begin():
        van = session.scalars(select(Vehicle).where(Vehicle.plate == "CP 10008")).one()
        declare_vehicle_lost(session, vehicle=van, at=EARLY, actor="dispatcher")
        version = replan(
            session, at=EARLY, zone=OSLO, actor="d", reason="lost", budget=REPAIR
        ).version
    publish_at = EARLY + timedelta(minutes=23)
    run_simulation(early.engine, speed=60, fast=True, until=publish_at)
    with Session(early.engine) as session, session.begin():
        reviewed = session.scalars(select(Plan).where(Plan.version == version)).one()
        publish(session, draft=reviewed, at=publish_at, zone=OSLO, actor="d")
    return version, publish_at


def test_a_van_running_late_does_not_stop_new_orders_being_scheduled(
    early: Morning,
) -> None:
    _, publish_at = lose_a_van_then_publish_late(early)
    with Session(early.engine) as session:
        known = set(session.scalars(select(Parcel.id)))
    later = publish_at + timedelta(minutes=40)
    run_simulation(early.engine, speed=60, fast=True, until=later)

    with Session(early.engine) as session:
        arrived = session.scalars(select(Parcel).where(Parcel.id.not_in(known))).all()
        scheduled_at = {
            event.subject: event.occurred_at
            for event in session.scalars(
                select(JournalEvent).where(
                    JournalEvent.kind == "StopsScheduled",
                    JournalEvent.actor == "route-scheduler",
                )
            )
        }
        assert arrived
        for parcel in arrived:
            assert scheduled_at[parcel.subject] == parcel.ordered_at


def test_no_stop_is_done_before_the_plan_that_sent_it_was_published(
    early: Morning,
) -> None:
    version, publish_at = lose_a_van_then_publish_late(early)

    run_simulation(
        early.engine, speed=60, fast=True, until=publish_at + timedelta(hours=2)
    )

    with Session(early.engine) as session:
        done = session.scalars(
            select(Stop.done_at)
            .join(Route, Route.id == Stop.route_id)
            .join(Plan, Plan.id == Route.plan_id)
            .where(Plan.version == version, Stop.done_at.is_not(None))
        ).all()
        assert done
        assert min(done) >= publish_at


def test_a_cancelled_order_leaves_no_stop_on_any_route(morning: Morning) -> None:
    afternoon = MID_MORNING + timedelta(hours=3)
    run_simulation(morning.engine, speed=60, fast=True, until=afternoon)

    with Session(morning.engine) as session:
        cancelled_at = {
            int(e.subject.split(":")[1]): e.occurred_at
            for e in session.scalars(
                select(JournalEvent).where(JournalEvent.kind == "ParcelCancelled")
            )
        }
        skipped = [
            (json.loads(e.payload)["parcel"], e.occurred_at)
            for e in session.scalars(
                select(JournalEvent).where(JournalEvent.kind == "StopSkipped")
            )
        ]

    assert cancelled_at
    # Pickup and delivery leave the route the moment the order is cancelled.
    assert {p for p, _ in skipped if p in cancelled_at} == set(cancelled_at)
    assert all(at == cancelled_at[p] for p, at in skipped if p in cancelled_at)
    assert sum(p in cancelled_at for p, _ in skipped) == 2 * len(cancelled_at)
