"""The OR-Tools routing model: the only module that knows OR-Tools indices.

It takes the problem and the shipments that passed our own checks, and gives
back, per vehicle id, the visits in order (``(parcel id, kind)``) plus the
parcels the search dropped. Everything else in ``solver`` speaks in ids.

Modelling choices (OR-Tools routing library, pickup-and-delivery with time
windows):

* Times and costs are scaled by ``SCALE`` to integers. Travel and service
  times are rounded *up* and windows rounded *inwards*, so every integer
  schedule is also feasible in floating point; the benchmark README notes that
  scaling by 1000 this way keeps all 56 Li & Lim best-known solutions feasible.
* Fewest vehicles first, then distance: each used vehicle costs more than any
  route can be long (a route cannot be longer than its shift, since travel
  time is distance), and dropping a shipment costs more than a new vehicle
  plus any detour, so nothing is dropped while it fits somewhere.
* A shipment is both visits or none: a disjunction on each visit and their
  active flags tied together, as the OR-Tools pickup-and-delivery examples do.

Re-planning rules (the costs form one hierarchy, each level larger than
everything below it can gain):

* **Who stays unserved when capacity is short: oldest promise first.** Each
  shipment's drop penalty is ``drop_cost * (1 + rank / ranks)``, where
  ``rank`` counts how many distinct promise times are newer than its own
  (``Shipment.promised_at``; none counts as the newest). Every penalty lies
  in ``[drop_cost, 2 * drop_cost)``, so serving more shipments always wins
  (dropping two costs more than dropping any one), and among plans serving
  as many, the search drops the newest promises: a customer who ordered
  first is kept first, which is the rule a dispatcher can explain.
* **Minimal change on re-plan.** With a warm start, putting a shipment on
  another vehicle than the warm start did costs ``MOVE_PENALTY_SHIFTS``
  times the longest shift (in distance units). One move can save at most
  the detour of that shipment, which is shorter than a shift, so no move is
  made to shorten routes; a move still beats dropping a shipment, and
  using a spare vehicle (``vehicle_cost``, two shifts) is preferred to
  moving two or more of another driver's stops. Shipments whose warm-start
  vehicle is gone (a breakdown) move freely. The count of moves is a
  dimension whose per-vehicle transit is 1 at each pickup that vehicle did
  not have, and its span cost is the penalty: OR-Tools filters dimension
  costs incrementally, which a Python callback per arc would not.
* **Locks to a sequence.** A vehicle's ``locked_sequence`` visits may only
  ride it, in that relative order, enforced on a ``rank`` dimension that
  counts visits; an under-way stop must have rank 1 (first after the
  start) and may only be dropped at the on-board penalty.
* **Driver breaks** are OR-Tools break intervals on the time dimension
  (``SetBreakIntervalsOfVehicle``): they may not overlap a service and
  pause travel, the model ``solver.plan.schedule_route`` times.
* A closed road with no detour left has infinite travel time; in the model
  it is longer than the horizon, so no route can use it.
"""

from __future__ import annotations

import itertools
import logging
import math
import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from time import monotonic

import numpy as np
from ortools.constraint_solver import pywrapcp, routing_enums_pb2

from solver.errors import NoPlanFoundError
from solver.problem import Problem, Shipment, Stop, StopKind, Vehicle

logger = logging.getLogger(__name__)

SCALE = 1000

# A move to another vehicle than the warm start costs this many longest
# shifts (see the module docstring for why one shift).
MOVE_PENALTY_SHIFTS = 1

# Under-way stops and on-board parcels are dropped only as a last resort.
LAST_RESORT_FACTOR = 10

Visit = tuple[str, StopKind]


@dataclass(frozen=True)
class SearchResult:
    """Visits per vehicle id, the dropped parcel ids, and how the search began."""

    routes: dict[str, list[Visit]]
    dropped: frozenset[str]
    warm_started: bool


@dataclass(frozen=True)
class _Node:
    location: int
    stop: Stop | None
    load_change: int
    visit: Visit | None


def _up(value: float) -> int:
    # A hair below the next integer still counts as that integer: 1.0000000001
    # from float noise must not cost a whole extra unit.
    return math.ceil(value * SCALE - 1e-6)


def solve(
    problem: Problem,
    shipments: Sequence[Shipment],
    *,
    seed: int,
    max_solutions: int,
    time_limit: float | None,
    warm_routes: Mapping[str, Sequence[Visit]] | None,
    left_out: frozenset[str] = frozenset(),
    initial_routes: Mapping[str, Sequence[Visit]] | None = None,
) -> SearchResult:
    """Route ``shipments`` (and every on-board parcel) with OR-Tools.

    Parameters
    ----------
    problem
        Vehicles, depots and the travel matrix.
    shipments
        The shipments to place; each may be dropped at a high penalty.
    seed
        Shuffles the order shipments enter the model, which changes the
        search's tie-breaking; the same seed gives the same result.
    max_solutions
        Stop after this many solutions (OR-Tools ``solution_limit``).
    time_limit
        Seconds for the whole call, model building included; the search
        returns the best plan found when they run out. Tests leave it None.
    warm_routes
        A previous plan's visits per vehicle id: moving a shipment off the
        vehicle it had there costs a penalty, and the search starts from
        it unless ``initial_routes`` are given.
    left_out
        Ids of on-board parcels our checks proved undeliverable; they stay
        out of the model.
    initial_routes
        Visits per vehicle id to start the search from instead of
        ``warm_routes`` or a first-solution heuristic (e.g. the warm start
        repaired, so the search begins with every shipment placed).

    Raises
    ------
    NoPlanFoundError
        If OR-Tools finds no assignment at all.
    """
    began = monotonic()
    order = list(shipments)
    random.Random(seed).shuffle(order)
    vehicles = problem.vehicles
    count = len(vehicles)

    nodes = [
        _Node(problem.location_index(v.start_location_id), None, 0, None)
        for v in vehicles
    ]
    nodes += [
        _Node(problem.location_index(problem.end_location(v)), None, 0, None)
        for v in vehicles
    ]
    for shipment in order:
        for stop, change, kind in (
            (shipment.pickup, shipment.load, StopKind.PICKUP),
            (shipment.delivery, -shipment.load, StopKind.DELIVERY),
        ):
            location = problem.location_index(stop.location_id)
            nodes.append(_Node(location, stop, change, (shipment.id, kind)))
    for vehicle in vehicles:
        for parcel in vehicle.on_board:
            if parcel.id in left_out:
                continue
            location = problem.location_index(parcel.delivery.location_id)
            visit = (parcel.id, StopKind.DELIVERY)
            nodes.append(_Node(location, parcel.delivery, -parcel.load, visit))

    manager = pywrapcp.RoutingIndexManager(
        len(nodes), count, list(range(count)), list(range(count, 2 * count))
    )
    routing = pywrapcp.RoutingModel(manager)

    origin = min(
        [v.shift_start for v in vehicles]
        + [n.stop.ready for n in nodes if n.stop is not None],
        default=0.0,
    )

    def tick(value: float) -> int:
        return _up(value - origin)

    def floor_tick(value: float) -> int:
        return math.floor((value - origin) * SCALE + 1e-6)

    horizon = max((floor_tick(v.shift_end) for v in vehicles), default=0)
    # A closed road with no detour: longer than any shift, so never driven.
    blocked = horizon + 1
    where = np.array([n.location for n in nodes], dtype=np.intp)
    service = [_up(n.stop.service) if n.stop else 0 for n in nodes]

    # Matrices, not Python callbacks: the search evaluates arcs millions of
    # times and a callback into Python costs far more than the search itself.
    # They are built with numpy: a 1,000-shipment day has 2,000 stops and
    # millions of arcs, too many for a loop in Python.
    travel = problem.travel_array()[np.ix_(where, where)]
    finite = np.isfinite(travel)
    scaled = np.where(finite, travel, 0.0) * SCALE
    arc_costs = np.where(finite, np.rint(scaled), blocked).astype(np.int64)
    ticks = np.where(finite, np.ceil(scaled - 1e-6), blocked).astype(np.int64)
    transit = ticks + np.array(service, dtype=np.int64)[:, None]
    routing.SetArcCostEvaluatorOfAllVehicles(
        routing.RegisterTransitMatrix(arc_costs.tolist())
    )
    routing.AddDimension(
        routing.RegisterTransitMatrix(transit.tolist()),
        horizon,
        horizon,
        False,
        "time",
    )
    time = routing.GetDimensionOrDie("time")
    routing.AddDimensionWithVehicleCapacity(
        routing.RegisterUnaryTransitVector([n.load_change for n in nodes]),
        0,
        [v.capacity for v in vehicles],
        False,
        "load",
    )
    load = routing.GetDimensionOrDie("load")

    longest_shift = max((v.shift_end - v.shift_start for v in vehicles), default=0.0)
    vehicle_cost = 2 * SCALE * (math.ceil(longest_shift) + 1)
    drop_cost = 4 * vehicle_cost
    routing.SetFixedCostOfAllVehicles(vehicle_cost)

    for number, vehicle in enumerate(vehicles):
        start, end = routing.Start(number), routing.End(number)
        time.CumulVar(start).SetRange(
            tick(vehicle.shift_start), floor_tick(vehicle.shift_end)
        )
        time.CumulVar(end).SetMax(floor_tick(vehicle.shift_end))
        load.CumulVar(start).SetValue(vehicle.on_board_load)

    for node, item in enumerate(nodes):
        if item.stop is None:
            continue
        index = manager.NodeToIndex(node)
        low, high = tick(item.stop.ready), floor_tick(item.stop.due)
        time.CumulVar(index).SetRange(min(low, high), high)

    solver = routing.solver()
    index_of: dict[Visit, int] = {}
    for node, item in enumerate(nodes):
        if item.visit is not None:
            index_of[item.visit] = manager.NodeToIndex(node)
    vehicle_number = {v.id: n for n, v in enumerate(vehicles)}

    penalty = _drop_penalties(order, drop_cost)
    for vehicle in vehicles:
        if vehicle.under_way and vehicle.locked_sequence[0][0] in penalty:
            # The vehicle is driving to this pickup: drop it only as a last
            # resort, like a parcel already on board.
            penalty[vehicle.locked_sequence[0][0]] = LAST_RESORT_FACTOR * drop_cost
    for shipment in order:
        pickup = index_of[(shipment.id, StopKind.PICKUP)]
        delivery = index_of[(shipment.id, StopKind.DELIVERY)]
        routing.AddPickupAndDelivery(pickup, delivery)
        solver.Add(routing.VehicleVar(pickup) == routing.VehicleVar(delivery))
        solver.Add(time.CumulVar(pickup) <= time.CumulVar(delivery))
        routing.AddDisjunction([pickup], penalty[shipment.id])
        routing.AddDisjunction([delivery], penalty[shipment.id])
        solver.Add(routing.ActiveVar(pickup) == routing.ActiveVar(delivery))
        owner = problem.sequence_owner(shipment.id)
        lock = owner.id if owner is not None else shipment.locked_vehicle_id
        if lock is not None:
            allowed = [-1, vehicle_number[lock]]
            routing.VehicleVar(pickup).SetValues(allowed)
            routing.VehicleVar(delivery).SetValues(allowed)

    _add_sequences(routing, vehicles, index_of)
    if warm_routes:
        move_cost = MOVE_PENALTY_SHIFTS * SCALE * (math.ceil(longest_shift) + 1)
        _add_move_penalty(
            routing, manager, vehicles, order, warm_routes, index_of, move_cost
        )
    _add_breaks(routing, manager, time, vehicles, service, nodes, tick, floor_tick)

    for number, vehicle in enumerate(vehicles):
        for parcel in vehicle.on_board:
            if parcel.id in left_out:
                continue
            index = index_of[(parcel.id, StopKind.DELIVERY)]
            # Dropping a parcel that is already on board is a last resort (its
            # window cannot be kept), so it costs far more than any shipment.
            routing.AddDisjunction([index], LAST_RESORT_FACTOR * drop_cost)
            routing.VehicleVar(index).SetValues([-1, number])

    parameters = pywrapcp.DefaultRoutingSearchParameters()
    parameters.first_solution_strategy = (
        routing_enums_pb2.FirstSolutionStrategy.PARALLEL_CHEAPEST_INSERTION
    )
    parameters.local_search_metaheuristic = (
        routing_enums_pb2.LocalSearchMetaheuristic.GUIDED_LOCAL_SEARCH
    )
    parameters.solution_limit = max_solutions

    def limit_search() -> None:
        # The caller's seconds count from the call: building and closing
        # the model (a second or more for a 1,000-shipment day) use them.
        if time_limit is not None:
            left = max(time_limit - (monotonic() - began), 0.001)
            parameters.time_limit.FromMilliseconds(max(1, round(left * 1000)))

    limit_search()

    solution = None
    warm_started = False
    start_routes = initial_routes if initial_routes is not None else warm_routes
    if start_routes:
        routing.CloseModelWithParameters(parameters)
        initial = routing.ReadAssignmentFromRoutes(
            _warm_indices(vehicles, start_routes, index_of), True
        )
        if initial is None:
            logger.info("warm_start=rejected reason=infeasible_or_incomplete")
        else:
            warm_started = True
            limit_search()
            solution = routing.SolveFromAssignmentWithParameters(initial, parameters)
    if solution is None:
        solution = routing.SolveWithParameters(parameters)
    if solution is None:
        raise NoPlanFoundError(
            "OR-Tools found no plan; check that every vehicle can reach its "
            "end depot within its shift"
        )
    logger.info(
        "ortools_solve nodes=%s vehicles=%s seconds=%.2f warm_started=%s",
        len(nodes),
        count,
        monotonic() - began,
        warm_started,
    )

    routes: dict[str, list[Visit]] = {}
    served: set[str] = set()
    for number, vehicle in enumerate(vehicles):
        visits: list[Visit] = []
        index = solution.Value(routing.NextVar(routing.Start(number)))
        while not routing.IsEnd(index):
            visit = nodes[manager.IndexToNode(index)].visit
            if visit is not None:
                visits.append(visit)
                served.add(visit[0])
            index = solution.Value(routing.NextVar(index))
        routes[vehicle.id] = visits
    everything = {visit[0] for visit in index_of}
    return SearchResult(routes, frozenset(everything - served), warm_started)


def _warm_indices(
    vehicles: Sequence[Vehicle],
    warm_routes: Mapping[str, Sequence[Visit]],
    index_of: Mapping[Visit, int],
) -> list[list[int]]:
    """Map a previous plan's visits onto this model, dropping half-known pairs."""
    indices: list[list[int]] = []
    for vehicle in vehicles:
        visits = [v for v in warm_routes.get(vehicle.id, ()) if v in index_of]
        parcels = [v[0] for v in visits]
        # A shipment whose other half is gone (or moved) cannot be replayed;
        # leave it for the search to re-insert.
        kept = [
            v
            for v in visits
            if parcels.count(v[0]) == 2
            or (v[1] is StopKind.DELIVERY and (v[0], StopKind.PICKUP) not in index_of)
        ]
        indices.append([index_of[v] for v in kept])
    return indices


def _drop_penalties(shipments: Sequence[Shipment], drop_cost: int) -> dict[str, int]:
    """Oldest promise first: older promises cost more to drop, all < 2x."""
    newest_first = sorted(
        {s.promised_at for s in shipments if s.promised_at is not None},
        reverse=True,
    )
    # Rank 0 is "no promise time" and the newest promise; older ranks grow.
    rank = {when: number + 1 for number, when in enumerate(newest_first)}
    ranks = len(newest_first) + 1
    return {
        s.id: drop_cost
        + (drop_cost * (rank[s.promised_at] if s.promised_at is not None else 0))
        // ranks
        for s in shipments
    }


def _add_sequences(
    routing: pywrapcp.RoutingModel,
    vehicles: Sequence[Vehicle],
    index_of: Mapping[Visit, int],
) -> None:
    """Locked visits ride their vehicle in order; an under-way one comes first."""
    if not any(v.locked_sequence for v in vehicles):
        return
    size = routing.Size() + routing.vehicles()
    routing.AddDimension(
        routing.RegisterUnaryTransitVector([1] * size), 0, size, True, "rank"
    )
    rank = routing.GetDimensionOrDie("rank")
    solver = routing.solver()
    for number, vehicle in enumerate(vehicles):
        indices = [index_of[v] for v in vehicle.locked_sequence if v in index_of]
        for index in indices:
            routing.VehicleVar(index).SetValues([-1, number])
        for before, after in itertools.pairwise(indices):
            both = routing.ActiveVar(before) * routing.ActiveVar(after)
            # Only binds when both are served; otherwise it is slack by size.
            solver.Add(
                rank.CumulVar(before) + 1 <= rank.CumulVar(after) + size * (1 - both)
            )
        first = vehicle.locked_sequence[0] if vehicle.under_way else None
        if first is not None and first in index_of:
            index = index_of[first]
            active = routing.ActiveVar(index)
            solver.Add(rank.CumulVar(index) <= 1 + size * (1 - active))


def _add_move_penalty(
    routing: pywrapcp.RoutingModel,
    manager: pywrapcp.RoutingIndexManager,
    vehicles: Sequence[Vehicle],
    shipments: Sequence[Shipment],
    warm_routes: Mapping[str, Sequence[Visit]],
    index_of: Mapping[Visit, int],
    move_cost: int,
) -> None:
    """Charge ``move_cost`` per shipment placed off its warm-start vehicle."""
    present = {v.id for v in vehicles}
    was_on: dict[int, str] = {}
    for vehicle_id, visits in warm_routes.items():
        if vehicle_id not in present:
            continue
        for parcel_id, kind in visits:
            if kind is StopKind.PICKUP and (parcel_id, kind) in index_of:
                was_on[index_of[(parcel_id, kind)]] = vehicle_id
    if not was_on or not shipments:
        return
    size = routing.Size() + routing.vehicles()
    # Unary transit vectors are indexed by node, not by routing index.
    owner = np.full(size, "", dtype=object)
    for index, previous in was_on.items():
        owner[manager.IndexToNode(index)] = previous
    tracked = owner != ""
    transits = []
    for vehicle in vehicles:
        moved = (tracked & (owner != vehicle.id)).astype(np.int64)
        transits.append(routing.RegisterUnaryTransitVector(moved.tolist()))
    routing.AddDimensionWithVehicleTransits(transits, 0, size, True, "moved")
    routing.GetDimensionOrDie("moved").SetSpanCostCoefficientForAllVehicles(move_cost)


def _add_breaks(
    routing: pywrapcp.RoutingModel,
    manager: pywrapcp.RoutingIndexManager,
    time: pywrapcp.RoutingDimension,
    vehicles: Sequence[Vehicle],
    service: Sequence[int],
    nodes: Sequence[_Node],
    tick: Callable[[float], int],
    floor_tick: Callable[[float], int],
) -> None:
    """Give each vehicle's breaks to OR-Tools as break intervals."""
    if not any(v.breaks for v in vehicles):
        return
    solver = routing.solver()
    # A break may not overlap a service: the visit's own transit is its
    # service time (the rest of a transit is travel, which a break pauses).
    visit_transit = [
        service[manager.IndexToNode(index)] for index in range(routing.Size())
    ]
    for number, vehicle in enumerate(vehicles):
        intervals = [
            solver.FixedDurationIntervalVar(
                tick(item.earliest_start),
                floor_tick(item.latest_start),
                _up(item.duration),
                False,
                f"break {vehicle.id}/{item.id}",
            )
            for item in vehicle.breaks
        ]
        if intervals:
            time.SetBreakIntervalsOfVehicle(intervals, number, visit_transit)
