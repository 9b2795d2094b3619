"""A first valid re-plan in milliseconds: repair the current plan, no search.

After a degradation the dispatcher needs an answer at once; the full search
(``plan_routes`` with ``warm_start``) may take seconds. ``repair_plan`` keeps
every route of the current plan that is still valid, as it is, and inserts
the shipments it lost (a broken-down vehicle's work, new orders) one by one,
oldest promise first, each where it lengthens the plan least (cheapest
insertion). Because no kept stop moves, it is the minimal change by
construction. It returns the plan only if the independent validator accepts
it; otherwise, or when the problem has rules the fast check does not model,
it returns None and the caller runs the search.

The insertion check is incremental: per route it keeps the service start and
the latest start that still keeps every later stop and the shift on time
(a backward pass), so a candidate position costs the length of the stretch
between its pickup and delivery, not a re-timing of the whole route.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from solver.plan import Plan, Unserved, UnservedReason, schedule_route
from solver.problem import Problem, Shipment, Stop, StopKind, StopRef, Vehicle
from solver.reasons import unservable
from solver.validate import validate


@dataclass
class _Route:
    vehicle: Vehicle
    visits: list[StopRef]
    stops: list[Stop]
    changes: list[int]
    starts: list[float]
    latest: list[float]
    loads: list[int]
    places: list[str]


def _state(problem: Problem, vehicle: Vehicle, visits: list[StopRef]) -> _Route:
    pairs = [problem.stop_of(pid, kind) for pid, kind in visits]
    stops = [stop for stop, _ in pairs]
    changes = [change for _, change in pairs]
    here, clock, load = vehicle.start_location_id, vehicle.shift_start, 0
    load = vehicle.on_board_load
    starts: list[float] = []
    loads: list[int] = []
    for stop, change in zip(stops, changes, strict=True):
        start = max(clock + problem.travel(here, stop.location_id), stop.ready)
        starts.append(start)
        clock, here = start + stop.service, stop.location_id
        load += change
        loads.append(load)
    latest = [0.0] * len(stops)
    end = problem.end_location(vehicle)
    bound, there = vehicle.shift_end, end
    for i in range(len(stops) - 1, -1, -1):
        stop = stops[i]
        bound = min(
            stop.due, bound - problem.travel(stop.location_id, there) - stop.service
        )
        latest[i] = bound
        there = stop.location_id
    places = [stop.location_id for stop in stops]
    return _Route(vehicle, list(visits), stops, changes, starts, latest, loads, places)


def _insertion(
    problem: Problem, route: _Route, shipment: Shipment, opening: float
) -> tuple[float, int, int] | None:
    """The cheapest feasible (extra distance, pickup slot, delivery slot)."""
    vehicle = route.vehicle
    pickup, delivery = shipment.pickup, shipment.delivery
    count = len(route.stops)
    end = problem.end_location(vehicle)
    travel = problem.travel
    locs = route.places
    first = 1 if vehicle.under_way else 0
    best: tuple[float, int, int] | None = None
    initial = vehicle.on_board_load
    for p in range(first, count + 1):
        prev_loc = locs[p - 1] if p else vehicle.start_location_id
        prev_dep = (
            route.starts[p - 1] + route.stops[p - 1].service
            if p
            else vehicle.shift_start
        )
        if prev_dep > pickup.due:
            # Departures only grow along a route: no later slot is on time.
            break
        load_before = route.loads[p - 1] if p else initial
        if load_before + shipment.load > vehicle.capacity:
            continue
        pick_start = max(prev_dep + travel(prev_loc, pickup.location_id), pickup.ready)
        if pick_start > pickup.due:
            continue
        clock, here = pick_start + pickup.service, pickup.location_id
        extra_pick = travel(prev_loc, pickup.location_id)
        for q in range(p, count + 1):
            if q > p:
                # Stop q-1 now comes after the pickup (and after stops p..q-2).
                i = q - 1
                start = max(clock + travel(here, locs[i]), route.stops[i].ready)
                if start > route.stops[i].due:
                    break
                if route.loads[i] + shipment.load > vehicle.capacity:
                    break
                clock, here = start + route.stops[i].service, locs[i]
            drop_start = max(clock + travel(here, delivery.location_id), delivery.ready)
            if drop_start > delivery.due:
                break
            after = drop_start + delivery.service
            next_loc = locs[q] if q < count else end
            arrive = after + travel(delivery.location_id, next_loc)
            limit = route.latest[q] if q < count else vehicle.shift_end
            if q < count:
                arrive = max(arrive, route.stops[q].ready)
            if arrive > limit:
                continue
            if q == p:
                extra = (
                    extra_pick
                    + travel(pickup.location_id, delivery.location_id)
                    + travel(delivery.location_id, next_loc)
                    - travel(prev_loc, next_loc)
                )
            else:
                after_pick = locs[p]
                before_drop = locs[q - 1]
                extra = (
                    extra_pick
                    + travel(pickup.location_id, after_pick)
                    - travel(prev_loc, after_pick)
                    + travel(before_drop, delivery.location_id)
                    + travel(delivery.location_id, next_loc)
                    - travel(before_drop, next_loc)
                )
            extra += opening if count == 0 else 0.0
            if best is None or extra < best[0]:
                best = (extra, p, q)
    return best


def _idle_kind(route: _Route) -> tuple[object, ...] | None:
    """What makes an empty route's insertions differ, or None if not empty."""
    vehicle = route.vehicle
    if route.visits or vehicle.locked_sequence or vehicle.on_board:
        return None
    return (
        vehicle.capacity,
        vehicle.shift_start,
        vehicle.shift_end,
        vehicle.start_location_id,
        vehicle.end_depot_id,
        vehicle.breaks,
    )


def _deliver_on_board(problem: Problem, route: _Route, parcel_id: str) -> _Route | None:
    """Insert an on-board parcel's delivery where the route stays on time."""
    vehicle = route.vehicle
    first = 1 if vehicle.under_way and route.visits else 0
    end = problem.end_location(vehicle)
    for position in range(len(route.visits), first - 1, -1):
        visits = list(route.visits)
        visits.insert(position, (parcel_id, StopKind.DELIVERY))
        state = _state(problem, vehicle, visits)
        on_time = all(
            start <= stop.due
            for start, stop in zip(state.starts, state.stops, strict=True)
        )
        last = state.stops[-1]
        back = state.starts[-1] + last.service + problem.travel(last.location_id, end)
        if on_time and back <= vehicle.shift_end:
            return state
    return None


def repair_plan(problem: Problem, warm_start: Plan) -> Plan | None:
    """Keep ``warm_start``'s routes and insert what they lack, without search.

    Parameters
    ----------
    problem
        The problem after the degradation (e.g. ``without_vehicle``).
    warm_start
        The plan in force before it.

    Returns
    -------
    Plan | None
        A plan the validator accepts, in which every kept stop rides the
        vehicle it rode before; shipments that fit nowhere are
        ``no_room_found`` and those our checks rule out carry their reason.
        None when the problem has driver breaks (the fast check does not
        model them) or the kept routes no longer validate (e.g. a closed
        road lengthened them): then run ``plan_routes``.
    """
    if any(v.breaks for v in problem.vehicles):
        return None
    impossible = unservable(problem)
    vehicles = {v.id: v for v in problem.vehicles}
    kept: dict[str, list[StopRef]] = {v.id: [] for v in problem.vehicles}
    for old in warm_start.routes:
        vehicle = vehicles.get(old.vehicle_id)
        if vehicle is None:
            continue
        carried = {parcel.id for parcel in vehicle.on_board}
        visits = [(s.parcel_id, s.kind) for s in old.stops]
        ids = [pid for pid, _ in visits]
        kept[vehicle.id] = [
            (pid, kind)
            for pid, kind in visits
            if pid not in impossible
            and (
                (problem.shipment(pid) is not None and ids.count(pid) == 2)
                or (pid in carried and kind is StopKind.DELIVERY)
            )
        ]
    placed = {pid for visits in kept.values() for pid, _ in visits}
    routes = {vid: _state(problem, vehicles[vid], kept[vid]) for vid in kept}
    longest = max((v.shift_end - v.shift_start for v in problem.vehicles), default=0)
    opening = 2 * (math.ceil(longest) + 1)  # the search's vehicle cost

    left: list[str] = []
    stranded: list[str] = []
    for vehicle in problem.vehicles:
        for parcel in vehicle.on_board:
            if parcel.id in placed or parcel.id in impossible:
                continue
            # An on-board parcel only needs its delivery, on its own van:
            # the first place that keeps the whole route on time.
            state = _deliver_on_board(problem, routes[vehicle.id], parcel.id)
            if state is None:
                stranded.append(parcel.id)
            else:
                routes[vehicle.id] = state
    missing = sorted(
        (s for s in problem.shipments if s.id not in placed and s.id not in impossible),
        key=lambda s: (s.promised_at is None, s.promised_at or 0.0, s.id),
    )
    for shipment in missing:
        owner = problem.sequence_owner(shipment.id)
        lock = owner.id if owner is not None else shipment.locked_vehicle_id
        candidates = [vehicles[lock]] if lock in vehicles else problem.vehicles
        best: tuple[float, int, int, str] | None = None
        tried_idle: set[tuple[object, ...]] = set()
        for vehicle in candidates:
            idle = _idle_kind(routes[vehicle.id])
            if idle is not None:
                # Idle vehicles of one kind offer the same insertions; the
                # first of them wins a tie anyway, so the rest are skipped.
                if idle in tried_idle:
                    continue
                tried_idle.add(idle)
            found = _insertion(problem, routes[vehicle.id], shipment, opening)
            if found is not None and (best is None or found[0] < best[0]):
                best = (*found, vehicle.id)
        if best is None:
            left.append(shipment.id)
            continue
        _, p, q, vehicle_id = best
        visits = routes[vehicle_id].visits
        visits.insert(q, (shipment.id, StopKind.DELIVERY))
        visits.insert(p, (shipment.id, StopKind.PICKUP))
        routes[vehicle_id] = _state(problem, vehicles[vehicle_id], visits)

    planned = [
        schedule_route(problem, vid, route.visits)
        for vid, route in routes.items()
        if route.visits
    ]
    unserved = (
        list(impossible.values())
        + [
            Unserved(
                pid,
                UnservedReason.NO_ROOM_FOUND,
                "It passes every feasibility check, but no route of the current "
                "plan had room for it; a full re-plan may still place it.",
            )
            for pid in left
        ]
        + [
            Unserved(
                pid,
                UnservedReason.NO_ROOM_FOUND,
                "It is on board its van, but no place in that van's route delivers "
                "it on time; a full re-plan may drop a newer order to make room.",
            )
            for pid in stranded
        ]
    )
    plan = Plan.from_routes(planned, unserved)
    return None if validate(problem, plan) else plan
