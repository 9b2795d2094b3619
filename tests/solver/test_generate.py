"""Generated Li & Lim-style days: repeatable, feasible pair by pair, plannable."""

from __future__ import annotations

import pytest

from solver import ProblemDataError, plan_routes, unservable, validate
from solver.generate import STYLES, generated_day


def test_the_same_seed_gives_the_same_day() -> None:
    first = generated_day(120, seed=7)

    again = generated_day(120, seed=7)

    assert again == first


def test_another_seed_gives_another_day() -> None:
    first = generated_day(120, seed=7)

    other = generated_day(120, seed=8)

    assert other.shipments != first.shipments


@pytest.mark.parametrize("style", sorted(STYLES))
def test_every_generated_pair_is_feasible_on_its_own(style: str) -> None:
    day = generated_day(300, seed=3, style=style)

    impossible = unservable(day)

    assert impossible == {}
    assert len(day.shipments) == 300


def test_a_day_names_its_shipments_and_their_stops_by_number() -> None:
    day = generated_day(12, seed=1, style="lc1")

    ids = [shipment.id for shipment in day.shipments]
    first = day.shipments[0]

    assert ids == [f"s{n:02d}" for n in range(1, 13)]
    assert (first.pickup.location_id, first.delivery.location_id) == ("p01", "d01")
    assert all(0 <= loc.x <= 100 and 0 <= loc.y <= 100 for loc in day.locations)
    assert {s.pickup.service for s in day.shipments} == {STYLES["lc1"].service}


def test_the_generated_fleet_is_enough_to_serve_the_whole_day() -> None:
    day = generated_day(40, seed=5)

    plan = plan_routes(day, seed=1, max_solutions=20)

    assert plan.unserved == ()
    assert validate(day, plan) == []


def test_an_unknown_style_is_refused_with_the_styles_to_choose_from() -> None:
    with pytest.raises(ProblemDataError, match=r"unknown style 'lc9'.*lrc1"):
        generated_day(10, seed=1, style="lc9")


def test_a_day_without_shipments_is_refused() -> None:
    with pytest.raises(ProblemDataError, match="must be positive"):
        generated_day(0, seed=1)
