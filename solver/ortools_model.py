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

Re-planning rules (oldest promise first when capacity is short, minimal
change on re-plan, locked sequences, driver breaks) are side constraints in
``solver.ortools_rules``; with this module it is the only one that knows
OR-Tools indices.

* A closed road with no detour left has infinite travel time; in the model
  it is longer than the horizon, so no route can use it.
"""

from __future__ import annotations

import logging
import math
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from time import monotonic

import numpy as np
from ortools.constraint_solver import pywrapcp, routing_enums_pb2

from solver.errors import NoPlanFoundError
from solver.ortools_rules import (
    add_breaks,
    add_move_penalty,
    add_sequences,
    drop_penalties,
    warm_indices,
)
from solver.problem import Problem, Shipment, Stop, StopKind

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

    penalty = drop_penalties(order, drop_cost)
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

    add_sequences(routing, vehicles, index_of)
    if warm_routes:
        move_cost = MOVE_PENALTY_SHIFTS * SCALE * (math.ceil(longest_shift) + 1)
        add_move_penalty(
            routing, manager, vehicles, order, warm_routes, index_of, move_cost
        )
    add_breaks(routing, manager, time, vehicles, service, tick, floor_tick, _up)

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
            warm_indices(vehicles, start_routes, index_of), True
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
