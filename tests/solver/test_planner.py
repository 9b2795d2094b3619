"""plan_routes: bounded, seeded searches that return validated plans."""

from __future__ import annotations

from dataclasses import replace

import pytest

from solver import (
    Depot,
    OnBoardParcel,
    Plan,
    Problem,
    ProblemDataError,
    Shipment,
    Stop,
    StopKind,
    UnservedReason,
    Vehicle,
    plan_routes,
    validate,
)
from solver.degradations import without_vehicle
from solver.generate import generated_day
from solver.planner import CONSTRUCT_FROM
from solver.repair import repair_plan
from tests.solver.conftest import parcel, street

LC101_BEST_KNOWN = 828.94
SOLUTIONS = 20


def served(plan: Plan) -> set[str]:
    return {stop.parcel_id for route in plan.routes for stop in route.stops}


def test_lc101_takes_the_best_known_ten_vehicles_within_one_percent(
    lilim_lc101: Problem,
) -> None:
    plan = plan_routes(lilim_lc101, seed=1, max_solutions=SOLUTIONS)

    assert validate(lilim_lc101, plan) == []
    assert plan.unserved == ()
    assert plan.vehicles_used == 10
    assert plan.distance == pytest.approx(LC101_BEST_KNOWN, rel=0.01)


def test_an_impossible_pair_is_reported_and_every_other_shipment_planned(
    lilim_lc101: Problem,
) -> None:
    impossible = Shipment(
        "late",
        Stop("t1", 900, 950, 10),
        Stop("t2", 0, 100, 10),
        10,
    )
    problem = replace(lilim_lc101, shipments=(*lilim_lc101.shipments, impossible))

    plan = plan_routes(problem, seed=1, max_solutions=SOLUTIONS)

    assert [(u.shipment_id, u.reason) for u in plan.unserved] == [
        ("late", UnservedReason.WINDOW_IMPOSSIBLE)
    ]
    assert served(plan) == {s.id for s in lilim_lc101.shipments}


def test_a_too_heavy_shipment_is_reported_and_the_rest_planned() -> None:
    problem = street((parcel("big", "h1", "h2", load=50), parcel("s1", "h3", "h4")))

    plan = plan_routes(problem, seed=1, max_solutions=SOLUTIONS)

    assert [(u.shipment_id, u.reason) for u in plan.unserved] == [
        ("big", UnservedReason.TOO_HEAVY)
    ]
    assert served(plan) == {"s1"}


def test_with_idle_capacity_and_feasible_windows_nothing_is_unserved() -> None:
    shipments = tuple(
        parcel(f"s{n}", f"h{n}", f"h{10 - n}", delivery_window=(0, 400))
        for n in range(1, 9)
    )

    plan = plan_routes(street(shipments), seed=3, max_solutions=SOLUTIONS)

    assert plan.unserved == ()
    assert plan.vehicles_used == 1


def test_when_capacity_runs_short_no_shipment_is_split() -> None:
    # Two vans of capacity 2 and six shipments of load 2 that must all be
    # carried at the same time: some must be dropped, each of them whole.
    shipments = tuple(
        parcel(f"s{n}", "h1", "h9", load=2, pickup_window=(0, 20)) for n in range(6)
    )
    problem = street(shipments, capacity=2)

    plan = plan_routes(problem, seed=1, max_solutions=SOLUTIONS)

    dropped = {u.shipment_id for u in plan.unserved}
    visits = [(s.parcel_id, s.kind) for r in plan.routes for s in r.stops]
    assert len(dropped) == 4
    assert all(
        ((sid, StopKind.PICKUP) in visits) == ((sid, StopKind.DELIVERY) in visits)
        for sid in dropped | served(plan)
    )
    assert {u.reason for u in plan.unserved} == {UnservedReason.NO_ROOM_FOUND}


def test_an_on_board_parcel_is_delivered_by_its_own_vehicle() -> None:
    problem = street(on_board=(OnBoardParcel("b1", Stop("h7", 0, 1000), 3),))

    plan = plan_routes(problem, seed=1, max_solutions=SOLUTIONS)

    route = plan.route_of("van1")
    assert route is not None
    assert [(s.parcel_id, s.load_after) for s in route.stops] == [("b1", 0)]


def test_a_locked_shipment_rides_its_vehicle() -> None:
    problem = street((parcel("s1", "h1", "h2", locked_to="van2"),))

    plan = plan_routes(problem, seed=1, max_solutions=SOLUTIONS)

    assert [r.vehicle_id for r in plan.routes] == ["van2"]


def test_its_own_plan_plus_one_new_shipment_warm_starts_to_a_valid_plan(
    lilim_lc101: Problem,
) -> None:
    first = plan_routes(lilim_lc101, seed=1, max_solutions=SOLUTIONS)
    extra = Shipment("new", Stop("t5", 0, 1236, 10), Stop("t40", 0, 1236, 10), 10)
    problem = replace(lilim_lc101, shipments=(*lilim_lc101.shipments, extra))

    plan = plan_routes(problem, seed=1, max_solutions=SOLUTIONS, warm_start=first)

    assert validate(problem, plan) == []
    assert "new" in served(plan)


def test_the_same_seed_and_bound_give_the_same_plan(lilim_lc101: Problem) -> None:
    first = plan_routes(lilim_lc101, seed=7, max_solutions=5)
    second = plan_routes(lilim_lc101, seed=7, max_solutions=5)

    assert first == second


def test_a_search_without_a_positive_bound_is_refused() -> None:
    with pytest.raises(ProblemDataError, match="max_solutions: must be positive"):
        plan_routes(street(), seed=1, max_solutions=0)


def test_an_on_board_parcel_its_vehicle_cannot_deliver_in_time_is_reported() -> None:
    # h9 is 90 away; the delivery window closes at 50.
    problem = street(on_board=(OnBoardParcel("b1", Stop("h9", 0, 50), 3),))

    plan = plan_routes(problem, seed=1, max_solutions=SOLUTIONS)

    assert [(u.shipment_id, u.reason) for u in plan.unserved] == [
        ("b1", UnservedReason.UNREACHABLE_IN_SHIFT)
    ]
    assert plan.routes == ()


def test_a_vehicle_mid_route_starts_where_it_is_and_ends_at_its_depot() -> None:
    base = street((parcel("s1", "h6", "h8"),))
    van = Vehicle("van3", 10, 200, 1000, "h5", "north")
    problem = replace(
        base,
        depots=(*base.depots, Depot("north", "h9")),
        vehicles=(van,),
    )

    plan = plan_routes(problem, seed=1, max_solutions=SOLUTIONS)

    route = plan.route_of("van3")
    assert route is not None
    assert route.stops[0].arrival == 210
    assert route.end_arrival == 200 + 10 + 5 + 20 + 5 + 10
    assert route.distance == 40


def test_a_warm_start_naming_a_vehicle_that_is_gone_still_plans_everything() -> None:
    shipments = tuple(parcel(f"s{n}", f"h{n}", f"h{n + 1}") for n in range(1, 5))
    before = street(shipments)
    first = plan_routes(before, seed=1, max_solutions=SOLUTIONS)
    after = replace(before, vehicles=(before.vehicles[1],))

    plan = plan_routes(after, seed=1, max_solutions=SOLUTIONS, warm_start=first)

    assert [r.vehicle_id for r in first.routes] == ["van1"]
    assert [r.vehicle_id for r in plan.routes] == ["van2"]
    assert plan.unserved == ()


# Large days and time limits: a plan always comes back ------------------------


def test_a_re_plan_out_of_time_returns_the_repaired_plan(
    lilim_lc101: Problem,
) -> None:
    day = replace(lilim_lc101, vehicles=lilim_lc101.vehicles[:11])
    first = plan_routes(day, seed=1, max_solutions=1)
    lost = first.route_of("v1")
    assert lost is not None
    after = without_vehicle(day, "v1", position=lost.stops[0].location_id, at=0)

    # A limit no machine can meet: the search never starts.
    plan = plan_routes(
        after, seed=1, max_solutions=SOLUTIONS, time_limit=1e-9, warm_start=first
    )

    assert plan == repair_plan(after, first)
    assert plan.unserved == ()
    assert validate(after, plan) == []


def test_a_large_cold_day_starts_from_insertion_and_serves_everything() -> None:
    day = generated_day(CONSTRUCT_FROM, seed=2)

    plan = plan_routes(day, seed=1, max_solutions=1)

    assert plan.unserved == ()
    assert validate(day, plan) == []


def test_a_large_cold_day_out_of_time_still_returns_a_valid_plan() -> None:
    day = generated_day(CONSTRUCT_FROM, seed=2)

    plan = plan_routes(day, seed=1, max_solutions=SOLUTIONS, time_limit=1e-9)

    assert plan.unserved == ()
    assert validate(day, plan) == []
