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
from solver.problem import Break, Problem, StopKind, Vehicle


class UnservedReason(StrEnum):
    """Why a shipment is not in any route, in the order the checks run."""

    LOCKED_VEHICLE_UNAVAILABLE = "locked_vehicle_unavailable"
    AREA_CLOSED = "area_closed"
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
class PlannedBreak:
    """A driver's break as planned: it pauses the clock from ``start`` to ``end``."""

    break_id: str
    start: float
    end: float


@dataclass(frozen=True)
class Route:
    """What one vehicle does: leave, visit ``stops`` in order, reach its depot.

    ``breaks`` are the driver's breaks, each between two stops (or before the
    first, or on the way to or at the end depot), in time order.
    """

    vehicle_id: str
    departure: float
    stops: tuple[PlannedStop, ...]
    end_arrival: float
    distance: float
    breaks: tuple[PlannedBreak, ...] = ()

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
        checked (the validator checks it). A vehicle with breaks takes each,
        in order of its window, in the first gap between stops that keeps the
        whole route on time, as early as its window allows within that gap
        (earliest within a gap is never worse: it only pauses the clock
        sooner). A vehicle without stops takes no break.
    """
    vehicle = problem.vehicle(vehicle_id)
    if vehicle is None:
        raise KeyError(f"no vehicle {vehicle_id!r}")
    if not visits or not vehicle.breaks:
        return _timed(problem, vehicle, visits, [])
    placed: list[tuple[Break, int]] = []
    ordered = sorted(vehicle.breaks, key=lambda b: (b.earliest_start, b.id))
    for item in ordered:
        first_gap = placed[-1][1] if placed else 0
        chosen = None
        for gap in range(first_gap, len(visits) + 1):
            route = _timed(problem, vehicle, visits, [*placed, (item, gap)])
            if _on_time(problem, vehicle, route, visits):
                chosen = gap
                break
        placed.append((item, len(visits) if chosen is None else chosen))
    return _timed(problem, vehicle, visits, placed)


def _on_time(
    problem: Problem,
    vehicle: Vehicle,
    route: Route,
    visits: Sequence[tuple[str, StopKind]],
) -> bool:
    windows = [problem.stop_of(pid, kind)[0] for pid, kind in visits]
    latest = {b.id: b.latest_start for b in vehicle.breaks}
    return (
        all(s.start <= w.due for s, w in zip(route.stops, windows, strict=True))
        and route.end_arrival <= vehicle.shift_end
        and all(b.start <= latest[b.break_id] for b in route.breaks)
    )


def _timed(
    problem: Problem,
    vehicle: Vehicle,
    visits: Sequence[tuple[str, StopKind]],
    placed: Sequence[tuple[Break, int]],
) -> Route:
    """Time ``visits`` with each placed break taken in its gap (gap k precedes
    stop k; gap ``len(visits)`` is the way to the end depot)."""
    here = vehicle.start_location_id
    clock = vehicle.shift_start
    load = vehicle.on_board_load
    distance = 0.0
    stops: list[PlannedStop] = []
    taken: list[PlannedBreak] = []
    targets: list[tuple[str, StopKind] | None] = [*visits, None]
    for gap, visit in enumerate(targets):
        if visit is None:
            stop, change, target = None, 0, problem.end_location(vehicle)
        else:
            stop, change = problem.stop_of(*visit)
            target = stop.location_id
        leg = problem.travel(here, target)
        distance += leg
        arrival, free = clock, clock
        remaining = leg
        arrived = False
        for item, where in placed:
            if where != gap:
                continue
            begin = max(free, item.earliest_start)
            if not arrived and begin >= free + remaining:
                # It gets there first and takes the break while waiting.
                arrival, arrived, remaining = free + remaining, True, 0.0
            else:
                remaining = max(0.0, remaining - (begin - free))
            free = begin + item.duration
            taken.append(PlannedBreak(item.id, begin, free))
        if not arrived:
            arrival = free + remaining
        here = target
        if stop is None or visit is None:
            clock = arrival
            break
        start = max(arrival, stop.ready, free)
        clock = start + stop.service
        load += change
        stops.append(
            PlannedStop(visit[0], visit[1], target, arrival, start, clock, load)
        )
    return Route(
        vehicle_id=vehicle.id,
        departure=vehicle.shift_start,
        stops=tuple(stops),
        end_arrival=clock,
        distance=distance,
        breaks=tuple(taken),
    )
