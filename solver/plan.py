"""The planner's result: routes with times and loads, totals, unserved shipments.

Times are recomputed in floating point from the problem's matrix, never read
back from the search's scaled integers, so the numbers a dispatcher sees are the
ones the validator checks.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from solver.errors import PlanDataError
from solver.problem import Problem, StopKind


class UnservedReason(StrEnum):
    """Why a shipment is not in any route, in the order the checks run."""

    LOCKED_VEHICLE_UNAVAILABLE = "locked_vehicle_unavailable"
    TOO_HEAVY = "too_heavy"
    WINDOW_IMPOSSIBLE = "window_impossible"
    UNREACHABLE_IN_SHIFT = "unreachable_in_shift"
    NO_ROOM_FOUND = "no_room_found"


@dataclass(frozen=True)
class PlannedStop:
    """One visit of a route: whose parcel, what happens, when, and the load after."""

    parcel_id: str
    kind: StopKind
    location_id: str
    arrival: float
    start: float
    departure: float
    load_after: int

    def __post_init__(self) -> None:
        if not self.arrival <= self.start <= self.departure:
            raise PlanDataError(
                "arrival <= start <= departure must hold",
                field=f"PlannedStop({self.parcel_id}, {self.kind})",
            )


@dataclass(frozen=True)
class Route:
    """What one vehicle does: leave, visit ``stops`` in order, reach its depot."""

    vehicle_id: str
    departure: float
    stops: tuple[PlannedStop, ...]
    end_arrival: float
    distance: float

    @property
    def duration(self) -> float:
        """The time from leaving the start to reaching the end depot."""
        return self.end_arrival - self.departure


@dataclass(frozen=True)
class Unserved:
    """A shipment no route serves, why, and that reason in a sentence."""

    shipment_id: str
    reason: UnservedReason
    explanation: str


@dataclass(frozen=True)
class Plan:
    """Routes for the vehicles that move, the totals, and what is left out."""

    routes: tuple[Route, ...]
    unserved: tuple[Unserved, ...]
    vehicles_used: int
    distance: float
    duration: float

    @classmethod
    def from_routes(cls, routes: Sequence[Route], unserved: Sequence[Unserved]) -> Plan:
        """Build a plan whose totals are the sums over ``routes``."""
        return cls(
            routes=tuple(routes),
            unserved=tuple(unserved),
            vehicles_used=sum(1 for route in routes if route.stops),
            distance=sum(route.distance for route in routes),
            duration=sum(route.duration for route in routes),
        )

    def route_of(self, vehicle_id: str) -> Route | None:
        """Return the route of ``vehicle_id``, or None if it does not move."""
        return next((r for r in self.routes if r.vehicle_id == vehicle_id), None)


def schedule_route(
    problem: Problem, vehicle_id: str, visits: Sequence[tuple[str, StopKind]]
) -> Route:
    """Time a vehicle's visits: leave at shift start, wait when early.

    Parameters
    ----------
    problem
        Supplies the stops, loads and travel times.
    vehicle_id
        The vehicle; it starts at its start location with its on-board load.
    visits
        ``(parcel id, kind)`` in visiting order.

    Returns
    -------
    Route
        Service starts at ``max(arrival, ready)``; the route is timed, not
        checked (the validator checks it).
    """
    vehicle = problem.vehicle(vehicle_id)
    if vehicle is None:
        raise KeyError(f"no vehicle {vehicle_id!r}")
    here = vehicle.start_location_id
    clock = vehicle.shift_start
    load = vehicle.on_board_load
    distance = 0.0
    stops: list[PlannedStop] = []
    for parcel_id, kind in visits:
        stop, change = problem.stop_of(parcel_id, kind)
        leg = problem.travel(here, stop.location_id)
        distance += leg
        arrival = clock + leg
        start = max(arrival, stop.ready)
        clock = start + stop.service
        load += change
        stops.append(
            PlannedStop(parcel_id, kind, stop.location_id, arrival, start, clock, load)
        )
        here = stop.location_id
    last_leg = problem.travel(here, problem.end_location(vehicle))
    return Route(
        vehicle_id=vehicle_id,
        departure=vehicle.shift_start,
        stops=tuple(stops),
        end_arrival=clock + last_leg,
        distance=distance + last_leg,
    )
