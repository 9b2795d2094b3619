"""Turning a declared degradation into the problem the re-plan solves.

Each function returns a new ``Problem`` (problems are immutable); the
re-plan is then ``plan_routes(new_problem, ..., warm_start=current_plan)``,
which keeps every stop where it was unless the degradation forces a move
(see ``solver.ortools_model`` for the minimal-change penalty), or, for an
answer within milliseconds, ``solver.repair.repair_plan``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

from solver.errors import ProblemDataError, UnknownReferenceError
from solver.plan import Plan, Route
from solver.problem import (
    Location,
    OnBoardParcel,
    Problem,
    Shipment,
    Stop,
    StopKind,
    StopRef,
)


def without_vehicle(
    problem: Problem,
    vehicle_id: str,
    *,
    position: str | Location,
    at: float,
    transfer_service: float = 0.0,
) -> Problem:
    """The problem after ``vehicle_id`` broke down (or its driver was lost).

    Parameters
    ----------
    problem
        The problem the current plan solves.
    vehicle_id
        The vehicle that is gone.
    position
        Where it stopped: a location id of ``problem``, or a new ``Location``
        (only when travel is Euclidean, since a given matrix has no row for
        it).
    at
        When it stopped; its parcels can be collected from then on.
    transfer_service
        Time to move its parcels into another vehicle at ``position``.

    Returns
    -------
    Problem
        Without the vehicle. Each parcel it carried becomes a shipment with
        the same id, picked up at ``position`` from ``at`` and delivered to
        its original stop (the issue's rule: on-board parcels are collected
        from where it stopped). Shipments locked to it are unlocked, so the
        re-plan may give them to another driver.

    Raises
    ------
    UnknownReferenceError
        If there is no such vehicle or location.
    ProblemDataError
        If ``position`` is a new location but the problem has a travel matrix.
    """
    lost = problem.vehicle(vehicle_id)
    if lost is None:
        raise UnknownReferenceError(f"no vehicle {vehicle_id!r}", field="vehicle_id")
    locations = problem.locations
    if isinstance(position, Location):
        if position.id not in {loc.id for loc in locations}:
            if problem.travel_times is not None:
                raise ProblemDataError(
                    "a new location needs travel times; pass the id of a "
                    "location the matrix covers",
                    field="position",
                )
            locations = (*locations, position)
        where = position.id
    else:
        if position not in {loc.id for loc in locations}:
            raise UnknownReferenceError(f"no location {position!r}", field="position")
        where = position
    collected = tuple(
        Shipment(
            parcel.id,
            Stop(where, at, max(at, parcel.delivery.due), transfer_service),
            parcel.delivery,
            parcel.load,
        )
        for parcel in lost.on_board
    )
    shipments = tuple(
        replace(s, locked_vehicle_id=None) if s.locked_vehicle_id == vehicle_id else s
        for s in problem.shipments
    )
    return replace(
        problem,
        locations=locations,
        vehicles=tuple(v for v in problem.vehicles if v.id != vehicle_id),
        shipments=(*shipments, *collected),
    )


def with_depot_lost(
    problem: Problem, depot_id: str, *, fallback_depot_id: str
) -> Problem:
    """The problem after ``depot_id`` is lost: its vehicles end at the fallback.

    Raises
    ------
    UnknownReferenceError
        If the fallback depot is not in the problem.
    """
    if fallback_depot_id not in {d.id for d in problem.depots}:
        raise UnknownReferenceError(
            f"no depot {fallback_depot_id!r}", field="fallback_depot_id"
        )
    vehicles = tuple(
        replace(v, end_depot_id=fallback_depot_id) if v.end_depot_id == depot_id else v
        for v in problem.vehicles
    )
    return replace(problem, vehicles=vehicles)


def locations_in_box(
    problem: Problem, x_min: float, y_min: float, x_max: float, y_max: float
) -> frozenset[str]:
    """Return the ids of the locations inside a box (edges included)."""
    return frozenset(
        loc.id
        for loc in problem.locations
        if x_min <= loc.x <= x_max and y_min <= loc.y <= y_max
    )


def with_area_closed(problem: Problem, location_ids: Iterable[str]) -> Problem:
    """The problem with ``location_ids`` closed: no stop may be there.

    Shipments with a stop inside become unserved with reason ``area_closed``
    (``solver.reasons``); the validator rejects any stop inside.
    """
    closed = problem.closed_location_ids | frozenset(location_ids)
    return replace(problem, closed_location_ids=closed)


def with_roads_closed(problem: Problem, roads: Iterable[tuple[str, str]]) -> Problem:
    """The problem with direct roads ``(from, to)`` closed (one direction each).

    Travel between their ends becomes the shortest detour; where none is left
    it is infinite and the shipments that need it are ``unreachable_in_shift``.
    """
    return replace(problem, closed_roads=(*problem.closed_roads, *roads))


def state_at(problem: Problem, plan: Plan, at: float) -> Problem:
    """The problem left to plan at time ``at`` when ``plan`` was driven so far.

    Parameters
    ----------
    problem
        The problem ``plan`` solves.
    plan
        The plan in force, driven exactly as timed.
    at
        The moment of the re-plan.

    Returns
    -------
    Problem
        Stops whose service has begun by ``at`` are done (a service under way
        is finished first): delivered shipments leave the problem, collected
        ones become parcels on board. A vehicle between stops starts from the
        stop it left, when it left, with the stop it is driving to locked
        first (``under_way``), so re-timing reproduces where it is; a vehicle
        at a stop starts there when the service ends. Idle vehicles start no
        earlier than ``at``; breaks already begun are taken. Use ``plan`` as
        the re-plan's warm start.
    """
    shipments = {s.id: s for s in problem.shipments}
    done: set[StopRef] = set()
    vehicles = []
    for vehicle in problem.vehicles:
        route = plan.route_of(vehicle.id)
        stops = route.stops if route is not None else ()
        finished = [s for s in stops if s.start <= at]
        done.update((s.parcel_id, s.kind) for s in finished)
        start, clock = vehicle.start_location_id, max(vehicle.shift_start, at)
        heading: tuple[StopRef, ...] = ()
        if finished:
            last = finished[-1]
            start, clock = last.location_id, max(last.departure, at)
        if len(finished) < len(stops) and stops and at >= vehicle.shift_start:
            following = stops[len(finished)]
            left = finished[-1].departure if finished else vehicle.shift_start
            if left < at:
                # Driving (or waiting) for the next stop: keep it first and
                # time the vehicle from where and when it left.
                heading = ((following.parcel_id, following.kind),)
                clock = left
        clock = min(clock, vehicle.shift_end)
        delivered = {f.parcel_id for f in finished if f.kind is StopKind.DELIVERY}
        collected = tuple(
            OnBoardParcel(f.parcel_id, shipments[f.parcel_id].delivery, load)
            for f in finished
            if f.kind is StopKind.PICKUP and f.parcel_id not in delivered
            for load in (shipments[f.parcel_id].load,)
        )
        still = tuple(
            p for p in vehicle.on_board if (p.id, StopKind.DELIVERY) not in done
        )
        breaks = tuple(
            replace(b, earliest_start=max(b.earliest_start, clock))
            for b in vehicle.breaks
            if not _break_begun(route, b.id, at) and b.latest_start >= clock
        )
        sequence = tuple(ref for ref in vehicle.locked_sequence if ref not in done)
        if heading:
            sequence = (*heading, *(r for r in sequence if r != heading[0]))
        vehicles.append(
            replace(
                vehicle,
                start_location_id=start,
                shift_start=clock,
                on_board=(*still, *collected),
                breaks=breaks,
                locked_sequence=sequence,
                under_way=bool(heading),
            )
        )
    remaining = tuple(
        s for s in problem.shipments if (s.id, StopKind.PICKUP) not in done
    )
    return replace(problem, vehicles=tuple(vehicles), shipments=remaining)


def _break_begun(route: Route | None, break_id: str, at: float) -> bool:
    if route is None:
        return False
    return any(b.break_id == break_id and b.start <= at for b in route.breaks)
