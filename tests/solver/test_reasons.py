"""Our own checks name why a shipment cannot be served, before any search."""

from __future__ import annotations

from solver import UnservedReason, unservable
from tests.solver.conftest import parcel, street


def test_a_delivery_window_closing_before_the_pickup_opens_is_impossible() -> None:
    problem = street(
        (parcel("s1", "h1", "h2", pickup_window=(500, 600), delivery_window=(0, 400)),)
    )

    found = unservable(problem)

    assert found["s1"].reason is UnservedReason.WINDOW_IMPOSSIBLE


def test_a_load_above_every_capacity_is_too_heavy() -> None:
    problem = street((parcel("s1", "h1", "h2", load=11),))

    found = unservable(problem)

    assert found["s1"].reason is UnservedReason.TOO_HEAVY
    assert "exceeds the largest capacity it may use (10)" in found["s1"].explanation


def test_a_pickup_no_vehicle_reaches_in_its_window_is_unreachable_in_shift() -> None:
    # The pickup window closes at 50, but h9 is 90 away from the depot.
    problem = street((parcel("s1", "h9", "h1", pickup_window=(0, 50)),))

    found = unservable(problem)

    assert found["s1"].reason is UnservedReason.UNREACHABLE_IN_SHIFT


def test_a_shipment_locked_to_a_missing_vehicle_is_locked_vehicle_unavailable() -> None:
    problem = street((parcel("s1", "h1", "h2", locked_to="van9"),))

    found = unservable(problem)

    assert found["s1"].reason is UnservedReason.LOCKED_VEHICLE_UNAVAILABLE


def test_a_feasible_shipment_has_no_reason() -> None:
    problem = street((parcel("s1", "h1", "h2"),))

    assert unservable(problem) == {}
