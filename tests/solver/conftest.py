"""Problems for the planner's tests: Li & Lim instances and a small street."""

from __future__ import annotations

import pytest

from solver import (
    Depot,
    Location,
    OnBoardParcel,
    Problem,
    Shipment,
    Stop,
    Vehicle,
    problem_from_li_lim,
    read_pdptw,
)
from tests.conftest import SHARED_DATA

LI_LIM = SHARED_DATA / "benchmarks" / "li_lim_100"


@pytest.fixture(scope="session")
def lilim_lc101() -> Problem:
    """Li & Lim lc101 as a planner problem (53 shipments, 25 vehicles)."""
    return problem_from_li_lim(read_pdptw(LI_LIM / "lc101.txt"))


@pytest.fixture(scope="session")
def lilim_lc103() -> Problem:
    """Li & Lim lc103 (53 shipments; best known: 9 vehicles, hard to reach)."""
    return problem_from_li_lim(read_pdptw(LI_LIM / "lc103.txt"))


def street(
    shipments: tuple[Shipment, ...] = (),
    *,
    capacity: int = 10,
    on_board: tuple[OnBoardParcel, ...] = (),
) -> Problem:
    """A depot at 0 and houses every 10 units along a straight street.

    Two vehicles (``van1`` carrying ``on_board``, ``van2``) work 0..1000 and
    start and end at the depot; travel time is distance.
    """
    houses = [Location(f"h{n}", 10 * n, 0) for n in range(1, 10)]
    locations = (Location("depot", 0, 0), *houses)
    vehicles = (
        Vehicle("van1", capacity, 0, 1000, "depot", "main", on_board),
        Vehicle("van2", capacity, 0, 1000, "depot", "main"),
    )
    return Problem(locations, (Depot("main", "depot"),), vehicles, shipments)


def parcel(
    shipment_id: str,
    pickup: str,
    delivery: str,
    *,
    load: int = 1,
    pickup_window: tuple[float, float] = (0, 1000),
    delivery_window: tuple[float, float] = (0, 1000),
    locked_to: str | None = None,
) -> Shipment:
    """A shipment between two houses of the street, with 5 units of service."""
    return Shipment(
        shipment_id,
        Stop(pickup, *pickup_window, service=5),
        Stop(delivery, *delivery_window, service=5),
        load,
        locked_to,
    )
