"""An independent check of a plan against its problem.

It shares nothing with the search: it re-reads the problem's stops, re-times
every route from the matrix and recounts the totals, so a plan the planner got
wrong (or a plan edited by hand) is caught before anyone drives it.

Re-planning rules are checked here too: no stop in a closed area; locked
sequences ride their vehicle in order and an under-way stop is its route's
first; every driver of a route takes each break once, inside its window,
never during a service, and the break pauses the clock (the re-timing counts
it).
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass
from enum import StrEnum

from solver.plan import Plan, PlannedBreak, Route
from solver.problem import Problem, StopKind, Vehicle

# Reported times and distances are sums of floats; allow rounding noise only.
TOLERANCE = 1e-6


class ViolationKind(StrEnum):
    """The kinds of thing that can be wrong with a plan."""

    UNKNOWN_VEHICLE = "unknown_vehicle"
    VEHICLE_TWICE = "vehicle_twice"
    UNKNOWN_PARCEL = "unknown_parcel"
    WRONG_LOCATION = "wrong_location"
    MISSING = "missing"
    SERVED_TWICE = "served_twice"
    SERVED_AND_UNSERVED = "served_and_unserved"
    SPLIT_SHIPMENT = "split_shipment"
    DELIVERY_BEFORE_PICKUP = "delivery_before_pickup"
    ON_BOARD_ELSEWHERE = "on_board_elsewhere"
    OVER_CAPACITY = "over_capacity"
    WINDOW_MISSED = "window_missed"
    SHIFT_EXCEEDED = "shift_exceeded"
    LOCK_BROKEN = "lock_broken"
    SEQUENCE_BROKEN = "sequence_broken"
    AREA_CLOSED = "area_closed"
    BREAK_MISSED = "break_missed"
    TIMES_WRONG = "times_wrong"
    TOTALS_WRONG = "totals_wrong"


@dataclass(frozen=True)
class Violation:
    """One thing wrong with a plan, in words a dispatcher can act on."""

    kind: ViolationKind
    message: str


def _differs(reported: float, recomputed: float) -> bool:
    return not math.isclose(reported, recomputed, rel_tol=1e-9, abs_tol=TOLERANCE)


# Where each (parcel, kind) is visited: (vehicle id, position in its route).
_Visits = dict[tuple[str, StopKind], list[tuple[str, int]]]


def validate(problem: Problem, plan: Plan) -> list[Violation]:
    """Return everything wrong with ``plan`` as a plan for ``problem``.

    Parameters
    ----------
    problem
        The problem the plan claims to solve.
    plan
        The plan to check.

    Returns
    -------
    list[Violation]
        Empty when every shipment is served completely (one vehicle, pickup
        first) or listed unserved, never both and never twice; every on-board
        parcel is delivered by its own vehicle; capacity, time windows, shifts
        and locks hold; and the reported times, loads and totals equal the
        recomputed ones.
    """
    found: list[Violation] = []
    visits: _Visits = defaultdict(list)

    seen_vehicles: set[str] = set()
    for route in plan.routes:
        vehicle = problem.vehicle(route.vehicle_id)
        if vehicle is None:
            found.append(
                Violation(
                    ViolationKind.UNKNOWN_VEHICLE, f"no vehicle {route.vehicle_id!r}"
                )
            )
            continue
        if vehicle.id in seen_vehicles:
            found.append(
                Violation(
                    ViolationKind.VEHICLE_TWICE, f"vehicle {vehicle.id} has two routes"
                )
            )
        seen_vehicles.add(vehicle.id)
        found.extend(_check_route(problem, vehicle, route, visits))

    found.extend(_check_coverage(problem, plan, visits))
    found.extend(_check_sequences(problem, visits))
    found.extend(_check_totals(plan))
    return found


def _check_sequences(problem: Problem, visits: _Visits) -> list[Violation]:
    """Locked visits ride their vehicle in order; an under-way one is first."""
    found: list[Violation] = []
    for vehicle in problem.vehicles:
        last = -1
        for position, ref in enumerate(vehicle.locked_sequence):
            where = visits.get(ref, [])
            others = [v for v, _ in where if v != vehicle.id]
            label = f"{ref[1]} of {ref[0]}"
            if others:
                found.append(
                    Violation(
                        ViolationKind.LOCK_BROKEN,
                        f"{label} is locked to {vehicle.id} but {others[0]} serves it",
                    )
                )
                continue
            if not where:
                continue
            at = where[0][1]
            if position == 0 and vehicle.under_way and at != 0:
                found.append(
                    Violation(
                        ViolationKind.SEQUENCE_BROKEN,
                        f"{vehicle.id} is driving to the {label}, but it is "
                        f"stop {at + 1} of its route, not the first",
                    )
                )
            if at < last:
                found.append(
                    Violation(
                        ViolationKind.SEQUENCE_BROKEN,
                        f"{label} comes before an earlier stop of "
                        f"{vehicle.id}'s locked sequence",
                    )
                )
            last = max(last, at)
        for parcel_id, _ in vehicle.locked_sequence:
            shipment = problem.shipment(parcel_id)
            if shipment is None:
                continue
            riders = {
                v
                for kind in StopKind
                for v, _ in visits.get((parcel_id, kind), [])
                if v != vehicle.id
            }
            if riders and (parcel_id, StopKind.PICKUP) not in vehicle.locked_sequence:
                found.append(
                    Violation(
                        ViolationKind.LOCK_BROKEN,
                        f"shipment {parcel_id} is in {vehicle.id}'s locked "
                        f"sequence but {sorted(riders)[0]} serves it",
                    )
                )
    return found


def _check_break_data(vehicle: Vehicle, route: Route) -> list[Violation]:
    found: list[Violation] = []
    name = f"vehicle {vehicle.id}"
    wanted = {item.id: item for item in vehicle.breaks}
    taken = [b.break_id for b in route.breaks]
    for item in route.breaks:
        spec = wanted.get(item.break_id)
        if spec is None:
            found.append(
                Violation(
                    ViolationKind.BREAK_MISSED,
                    f"{name} has no break {item.break_id!r}",
                )
            )
            continue
        if (
            item.start < spec.earliest_start - TOLERANCE
            or item.start > spec.latest_start + TOLERANCE
        ):
            found.append(
                Violation(
                    ViolationKind.BREAK_MISSED,
                    f"{name} starts break {spec.id} at {item.start:g}, outside "
                    f"its window {spec.earliest_start:g}..{spec.latest_start:g}",
                )
            )
        if _differs(item.end - item.start, spec.duration):
            found.append(
                Violation(
                    ViolationKind.BREAK_MISSED,
                    f"{name}'s break {spec.id} lasts {item.end - item.start:g}, "
                    f"not {spec.duration:g}",
                )
            )
    if route.stops:
        for spec_id in sorted(wanted):
            if taken.count(spec_id) != 1:
                found.append(
                    Violation(
                        ViolationKind.BREAK_MISSED,
                        f"{name} takes break {spec_id} {taken.count(spec_id)} "
                        "times; a driver on a route takes each break once",
                    )
                )
    return found


def _through_gap(
    depart: float, leg: float, gap: list[PlannedBreak]
) -> tuple[float, float, bool]:
    """Drive ``leg`` from ``depart`` with ``gap``'s breaks pausing the clock.

    Returns the arrival, the time the last break ends (or ``depart``), and
    whether a break starts before the previous activity ends (an overlap).
    """
    free, remaining = depart, leg
    arrival: float | None = None
    overlap = False
    for item in gap:
        if item.start < free - TOLERANCE:
            overlap = True
        if arrival is None and item.start >= free + remaining:
            arrival, remaining = free + remaining, 0.0
        else:
            remaining = max(0.0, remaining - max(0.0, item.start - free))
        free = max(free, item.end)
    return (free + remaining if arrival is None else arrival), free, overlap


def _check_route(
    problem: Problem, vehicle: Vehicle, route: Route, visits: _Visits
) -> list[Violation]:
    found: list[Violation] = []
    name = f"vehicle {vehicle.id}"
    if route.departure < vehicle.shift_start - TOLERANCE:
        found.append(
            Violation(
                ViolationKind.SHIFT_EXCEEDED,
                f"{name} leaves at {route.departure:g}, before its shift starts "
                f"at {vehicle.shift_start:g}",
            )
        )
    carried = {parcel.id for parcel in vehicle.on_board}
    here, clock = vehicle.start_location_id, route.departure
    load, distance = vehicle.on_board_load, 0.0
    found.extend(_check_break_data(vehicle, route))
    pending = sorted(route.breaks, key=lambda b: b.start)

    def gap_before(reported_start: float) -> list[PlannedBreak]:
        # Breaks reported to start before this service belong to its gap.
        taken = [b for b in pending if b.start <= reported_start]
        del pending[: len(taken)]
        return taken

    for position, planned in enumerate(route.stops):
        label = f"{name}, stop {position + 1} ({planned.kind} of {planned.parcel_id})"
        shipment = problem.shipment(planned.parcel_id)
        if shipment is None and planned.parcel_id not in carried:
            kind = (
                ViolationKind.ON_BOARD_ELSEWHERE
                if problem.carrier_of(planned.parcel_id) is not None
                else ViolationKind.UNKNOWN_PARCEL
            )
            found.append(
                Violation(kind, f"{label}: not a shipment or a parcel it carries")
            )
            continue
        if shipment is not None:
            stop = (
                shipment.pickup
                if planned.kind is StopKind.PICKUP
                else shipment.delivery
            )
            change = (
                shipment.load if planned.kind is StopKind.PICKUP else -shipment.load
            )
        else:
            parcel = next(p for p in vehicle.on_board if p.id == planned.parcel_id)
            if planned.kind is StopKind.PICKUP:
                found.append(
                    Violation(
                        ViolationKind.ON_BOARD_ELSEWHERE, f"{label}: already on board"
                    )
                )
                continue
            stop, change = parcel.delivery, -parcel.load
        visits[(planned.parcel_id, planned.kind)].append((vehicle.id, position))

        if planned.location_id != stop.location_id:
            found.append(
                Violation(
                    ViolationKind.WRONG_LOCATION,
                    f"{label}: reported at {planned.location_id}, "
                    f"the stop is at {stop.location_id}",
                )
            )
        if stop.location_id in problem.closed_location_ids:
            found.append(
                Violation(
                    ViolationKind.AREA_CLOSED,
                    f"{label}: {stop.location_id} is in a closed area",
                )
            )
        leg = problem.travel(here, stop.location_id)
        distance += leg
        arrival, free, overlap = _through_gap(clock, leg, gap_before(planned.start))
        if overlap:
            found.append(
                Violation(
                    ViolationKind.BREAK_MISSED,
                    f"{label}: a break before it overlaps a service or another break",
                )
            )
        start = max(arrival, stop.ready, free)
        clock = start + stop.service
        load += change
        here = stop.location_id

        if start > stop.due + TOLERANCE:
            found.append(
                Violation(
                    ViolationKind.WINDOW_MISSED,
                    f"{label}: service starts at {start:g}, after the window "
                    f"closes at {stop.due:g}",
                )
            )
        if load > vehicle.capacity:
            found.append(
                Violation(
                    ViolationKind.OVER_CAPACITY,
                    f"{label}: carries {load}, capacity {vehicle.capacity}",
                )
            )
        reported = (planned.arrival, planned.start, planned.departure)
        if any(map(_differs, reported, (arrival, start, clock))):
            found.append(
                Violation(
                    ViolationKind.TIMES_WRONG,
                    f"{label}: reported arrival/start/departure {reported}, "
                    f"recomputed ({arrival:g}, {start:g}, {clock:g})",
                )
            )
        if planned.load_after != load:
            found.append(
                Violation(
                    ViolationKind.TIMES_WRONG,
                    f"{label}: reported load {planned.load_after}, recomputed {load}",
                )
            )

    last_leg = problem.travel(here, problem.end_location(vehicle))
    end_arrival, _, overlap = _through_gap(clock, last_leg, pending)
    if overlap:
        found.append(
            Violation(
                ViolationKind.BREAK_MISSED,
                f"{name}: a break after its last stop overlaps a service or "
                "another break",
            )
        )
    if end_arrival > vehicle.shift_end + TOLERANCE:
        found.append(
            Violation(
                ViolationKind.SHIFT_EXCEEDED,
                f"{name} reaches its depot at {end_arrival:g}, after its shift "
                f"ends at {vehicle.shift_end:g}",
            )
        )
    if _differs(route.end_arrival, end_arrival) or _differs(
        route.distance, distance + last_leg
    ):
        found.append(
            Violation(
                ViolationKind.TIMES_WRONG,
                f"{name}: reported end {route.end_arrival:g} and distance "
                f"{route.distance:g}, recomputed {end_arrival:g} and "
                f"{distance + last_leg:g}",
            )
        )
    return found


def _check_coverage(problem: Problem, plan: Plan, visits: _Visits) -> list[Violation]:
    found: list[Violation] = []
    unserved_ids = [u.shipment_id for u in plan.unserved]
    known = {s.id for s in problem.shipments} | {
        p.id for v in problem.vehicles for p in v.on_board
    }
    for shipment_id in sorted(set(unserved_ids)):
        if unserved_ids.count(shipment_id) > 1:
            found.append(
                Violation(
                    ViolationKind.SERVED_TWICE,
                    f"{shipment_id} is listed unserved twice",
                )
            )
        if shipment_id not in known:
            found.append(
                Violation(
                    ViolationKind.UNKNOWN_PARCEL,
                    f"{shipment_id} is listed unserved but is no shipment",
                )
            )
    unserved = set(unserved_ids)

    for shipment in problem.shipments:
        pickups = visits.get((shipment.id, StopKind.PICKUP), [])
        deliveries = visits.get((shipment.id, StopKind.DELIVERY), [])
        found.extend(_check_shipment(shipment.id, pickups, deliveries, unserved))
        lock = shipment.locked_vehicle_id
        if lock is not None and any(v != lock for v, _ in pickups + deliveries):
            found.append(
                Violation(
                    ViolationKind.LOCK_BROKEN,
                    f"shipment {shipment.id} is locked to {lock} but another "
                    "vehicle serves it",
                )
            )

    for vehicle in problem.vehicles:
        for parcel in vehicle.on_board:
            deliveries = visits.get((parcel.id, StopKind.DELIVERY), [])
            if len(deliveries) > 1:
                found.append(
                    Violation(
                        ViolationKind.SERVED_TWICE,
                        f"parcel {parcel.id} is delivered twice",
                    )
                )
            elif not deliveries and parcel.id not in unserved:
                found.append(
                    Violation(
                        ViolationKind.MISSING,
                        f"parcel {parcel.id} on {vehicle.id} is neither delivered "
                        "nor listed unserved",
                    )
                )
            elif deliveries and parcel.id in unserved:
                found.append(
                    Violation(
                        ViolationKind.SERVED_AND_UNSERVED,
                        f"parcel {parcel.id} is delivered and listed unserved",
                    )
                )
    return found


def _check_shipment(
    shipment_id: str,
    pickups: list[tuple[str, int]],
    deliveries: list[tuple[str, int]],
    unserved: set[str],
) -> list[Violation]:
    name = f"shipment {shipment_id}"
    if len(pickups) > 1 or len(deliveries) > 1:
        return [
            Violation(ViolationKind.SERVED_TWICE, f"{name} is visited more than once")
        ]
    if not pickups and not deliveries:
        if shipment_id in unserved:
            return []
        return [
            Violation(ViolationKind.MISSING, f"{name} is neither served nor unserved")
        ]
    problems: list[Violation] = []
    if shipment_id in unserved:
        problems.append(
            Violation(
                ViolationKind.SERVED_AND_UNSERVED, f"{name} is served and unserved"
            )
        )
    if len(pickups) != len(deliveries) or pickups[0][0] != deliveries[0][0]:
        problems.append(
            Violation(
                ViolationKind.SPLIT_SHIPMENT,
                f"{name}: pickup and delivery are not on one route",
            )
        )
    elif pickups[0][1] > deliveries[0][1]:
        problems.append(
            Violation(
                ViolationKind.DELIVERY_BEFORE_PICKUP, f"{name} is delivered first"
            )
        )
    return problems


def _check_totals(plan: Plan) -> list[Violation]:
    used = sum(1 for route in plan.routes if route.stops)
    distance = sum(route.distance for route in plan.routes)
    duration = sum(route.end_arrival - route.departure for route in plan.routes)
    if (
        plan.vehicles_used != used
        or _differs(plan.distance, distance)
        or _differs(plan.duration, duration)
    ):
        return [
            Violation(
                ViolationKind.TOTALS_WRONG,
                f"totals say {plan.vehicles_used} vehicles, {plan.distance:g} "
                f"distance, {plan.duration:g} duration; the routes add up to "
                f"{used}, {distance:g}, {duration:g}",
            )
        ]
    return []
