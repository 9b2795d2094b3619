"""Building the planner's input: checks on construction and the Li & Lim converter."""

from __future__ import annotations

import math
from dataclasses import replace

import pytest

from solver import (
    Depot,
    Location,
    OnBoardParcel,
    Problem,
    ProblemDataError,
    Stop,
    StopKind,
    UnknownReferenceError,
    Vehicle,
)
from tests.solver.conftest import parcel, street


def test_a_stop_whose_window_closes_before_it_opens_is_refused() -> None:
    with pytest.raises(ProblemDataError, match=r"Stop\.due: the window closes"):
        Stop("h1", 50, 40)


def test_a_vehicle_loaded_beyond_its_capacity_is_refused() -> None:
    overload = (OnBoardParcel("p1", Stop("h1", 0, 100), 11),)

    with pytest.raises(ProblemDataError, match=r"Vehicle\(van1\)\.on_board"):
        Vehicle("van1", 10, 0, 100, "depot", "main", overload)


def test_a_shipment_at_an_unknown_location_is_refused() -> None:
    with pytest.raises(UnknownReferenceError, match=r"Shipment\(s1\)\.delivery"):
        street((parcel("s1", "h1", "nowhere"),))


def test_a_shipment_id_used_twice_is_refused() -> None:
    with pytest.raises(ProblemDataError, match="'s1' appears twice"):
        street((parcel("s1", "h1", "h2"), parcel("s1", "h3", "h4")))


def test_a_travel_matrix_of_the_wrong_shape_is_refused() -> None:
    locations = (Location("a", 0, 0), Location("b", 1, 0))

    with pytest.raises(ProblemDataError, match=r"travel_times: must be 2 x 2"):
        Problem(locations, (Depot("d", "a"),), (), (), ((0.0, 1.0),))


def test_travel_time_defaults_to_euclidean_distance() -> None:
    locations = (Location("a", 0, 0), Location("b", 3, 4))

    problem = Problem(locations, (Depot("d", "a"),), (), ())

    assert problem.travel("a", "b") == 5.0


def test_lc101_becomes_53_shipments_for_25_vehicles(lilim_lc101: Problem) -> None:
    assert len(lilim_lc101.shipments) == 53
    assert len(lilim_lc101.vehicles) == 25
    assert {v.capacity for v in lilim_lc101.vehicles} == {200}
    assert lilim_lc101.vehicles[0].shift_end == 1236


def test_lookups_by_id_find_vehicles_depots_carriers_and_sequence_owners() -> None:
    on_board = (OnBoardParcel("b1", Stop("h3", 0, 1000), 1),)
    problem = street((parcel("s1", "h1", "h2"),), on_board=on_board)
    locked = replace(problem.vehicles[1], locked_sequence=(("s1", StopKind.PICKUP),))
    problem = replace(problem, vehicles=(problem.vehicles[0], locked))

    assert problem.vehicle("van2") == locked
    assert problem.vehicle("van9") is None
    assert problem.depot("main") == Depot("main", "depot")
    assert problem.carrier_of("b1") == problem.vehicles[0]
    assert problem.carrier_of("s1") is None
    assert problem.sequence_owner("s1") == locked
    assert problem.sequence_owner("b1") is None


def test_euclidean_travel_on_integer_coordinates_is_exactly_math_hypot(
    lilim_lc101: Problem,
) -> None:
    places = lilim_lc101.locations

    differing = [
        (a.id, b.id)
        for a in places
        for b in places
        if lilim_lc101.travel(a.id, b.id) != math.hypot(a.x - b.x, a.y - b.y)
    ]

    assert differing == []


def test_a_closed_road_detours_the_same_in_a_given_matrix() -> None:
    places = (Location("a", 0, 0), Location("b", 3, 0), Location("c", 3, 4))
    matrix = ((0, 3, 5), (3, 0, 4), (5, 4, 0))
    van = Vehicle("van", 10, 0, 100, "a", "home")
    problem = Problem(places, (Depot("home", "a"),), (van,), (), travel_times=matrix)

    closed = replace(problem, closed_roads=(("a", "c"),))

    assert closed.travel("a", "c") == 7
    assert closed.travel("c", "a") == 5
    assert closed.travel_array()[0, 2] == 7
