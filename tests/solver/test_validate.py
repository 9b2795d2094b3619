"""The independent validator catches every kind of broken plan."""

from __future__ import annotations

from dataclasses import replace

import pytest

from solver import (
    OnBoardParcel,
    Plan,
    Problem,
    Stop,
    StopKind,
    Unserved,
    UnservedReason,
    ViolationKind,
    schedule_route,
    validate,
)
from tests.solver.conftest import parcel, street

P, D = StopKind.PICKUP, StopKind.DELIVERY


@pytest.fixture
def two_shipments() -> Problem:
    """Shipments s1 (h1 -> h3) and s2 (h2 -> h4, locked to van1); van1 carries b1."""
    on_board = (OnBoardParcel("b1", Stop("h5", 0, 1000), 2),)
    return street(
        (parcel("s1", "h1", "h3", load=4), parcel("s2", "h2", "h4", locked_to="van1")),
        on_board=on_board,
    )


def plan_of(problem: Problem, **routes: list[tuple[str, StopKind]]) -> Plan:
    return Plan.from_routes(
        [
            schedule_route(problem, vehicle, visits)
            for vehicle, visits in routes.items()
        ],
        [],
    )


def kinds(problem: Problem, plan: Plan) -> set[ViolationKind]:
    return {violation.kind for violation in validate(problem, plan)}


def test_a_correct_plan_has_no_violations(two_shipments: Problem) -> None:
    plan = plan_of(
        two_shipments,
        van1=[("s1", P), ("s2", P), ("s1", D), ("s2", D), ("b1", D)],
    )

    assert validate(two_shipments, plan) == []


def test_a_shipment_split_over_two_vehicles_is_caught(two_shipments: Problem) -> None:
    plan = plan_of(
        two_shipments,
        van1=[("s1", P), ("s2", P), ("s2", D), ("b1", D)],
        van2=[("s1", D)],
    )

    assert kinds(two_shipments, plan) == {ViolationKind.SPLIT_SHIPMENT}


def test_a_delivery_before_its_pickup_is_caught(two_shipments: Problem) -> None:
    plan = plan_of(
        two_shipments,
        van1=[("s2", P), ("s2", D), ("b1", D)],
        van2=[("s1", D), ("s1", P)],
    )

    assert ViolationKind.DELIVERY_BEFORE_PICKUP in kinds(two_shipments, plan)


def test_a_load_over_capacity_is_caught() -> None:
    problem = street(
        (parcel("s1", "h1", "h3", load=6), parcel("s2", "h2", "h4", load=6))
    )
    plan = plan_of(problem, van1=[("s1", P), ("s2", P), ("s1", D), ("s2", D)])

    assert kinds(problem, plan) == {ViolationKind.OVER_CAPACITY}


def test_a_missed_time_window_is_caught() -> None:
    problem = street((parcel("s1", "h9", "h1", delivery_window=(0, 100)),))
    plan = plan_of(problem, van1=[("s1", P), ("s1", D)])

    assert kinds(problem, plan) == {ViolationKind.WINDOW_MISSED}


def test_a_shipment_visited_twice_is_caught(two_shipments: Problem) -> None:
    plan = plan_of(
        two_shipments,
        van1=[("s1", P), ("s2", P), ("s1", D), ("s2", D), ("b1", D)],
        van2=[("s1", P), ("s1", D)],
    )

    assert ViolationKind.SERVED_TWICE in kinds(two_shipments, plan)


def test_a_shipment_both_served_and_unserved_is_caught(two_shipments: Problem) -> None:
    served = plan_of(
        two_shipments,
        van1=[("s1", P), ("s2", P), ("s1", D), ("s2", D), ("b1", D)],
    )
    plan = replace(
        served, unserved=(Unserved("s1", UnservedReason.NO_ROOM_FOUND, "."),)
    )

    assert kinds(two_shipments, plan) == {ViolationKind.SERVED_AND_UNSERVED}


def test_a_forgotten_shipment_is_caught(two_shipments: Problem) -> None:
    plan = plan_of(two_shipments, van1=[("s2", P), ("s2", D), ("b1", D)])

    assert kinds(two_shipments, plan) == {ViolationKind.MISSING}


def test_an_on_board_parcel_delivered_by_another_vehicle_is_caught(
    two_shipments: Problem,
) -> None:
    plan = plan_of(
        two_shipments,
        van1=[("s1", P), ("s2", P), ("s1", D), ("s2", D)],
        van2=[("b1", D)],
    )

    assert ViolationKind.ON_BOARD_ELSEWHERE in kinds(two_shipments, plan)


def test_a_broken_lock_is_caught(two_shipments: Problem) -> None:
    plan = plan_of(
        two_shipments,
        van1=[("s1", P), ("s1", D), ("b1", D)],
        van2=[("s2", P), ("s2", D)],
    )

    assert kinds(two_shipments, plan) == {ViolationKind.LOCK_BROKEN}


def test_wrong_totals_are_caught(two_shipments: Problem) -> None:
    right = plan_of(
        two_shipments,
        van1=[("s1", P), ("s2", P), ("s1", D), ("s2", D), ("b1", D)],
    )
    plan = replace(right, distance=right.distance - 1)

    assert kinds(two_shipments, plan) == {ViolationKind.TOTALS_WRONG}


def test_a_wrongly_reported_arrival_is_caught(two_shipments: Problem) -> None:
    right = plan_of(
        two_shipments,
        van1=[("s1", P), ("s2", P), ("s1", D), ("s2", D), ("b1", D)],
    )
    route = right.routes[0]
    early = replace(route.stops[0], arrival=route.stops[0].arrival - 1)
    plan = replace(right, routes=(replace(route, stops=(early, *route.stops[1:])),))

    assert kinds(two_shipments, plan) == {ViolationKind.TIMES_WRONG}


def test_a_route_past_the_end_of_the_shift_is_caught() -> None:
    late = parcel(
        "s1", "h9", "h1", pickup_window=(990, 1000), delivery_window=(0, 2000)
    )
    problem = street((late,))
    plan = plan_of(problem, van1=[("s1", P), ("s1", D)])

    assert kinds(problem, plan) == {ViolationKind.SHIFT_EXCEEDED}
