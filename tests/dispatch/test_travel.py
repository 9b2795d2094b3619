"""Travel times and distances from coordinates."""

from __future__ import annotations

import pytest

from controlroom.dispatch.travel import TravelModel, planar_km


def test_a_hundredth_of_a_degree_north_is_about_1_1_km() -> None:
    assert planar_km((59.90, 10.75), (59.91, 10.75)) == pytest.approx(1.1057)


def test_a_degree_east_shrinks_with_latitude() -> None:
    # At 60 degrees north a degree of longitude is half the equator's.
    assert planar_km((60.0, 10.0), (60.0, 11.0)) == pytest.approx(55.66, rel=1e-3)


def test_a_van_at_12_kmh_takes_five_minutes_for_a_kilometre() -> None:
    model = TravelModel.for_speed(12, latitude=59.9)
    one_km_north = 1 / 110.57

    minutes = model.minutes((59.9, 10.7), (59.9 + one_km_north, 10.7))

    assert minutes == pytest.approx(5.0)
