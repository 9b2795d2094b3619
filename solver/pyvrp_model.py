"""PyVRP as a peer: pickup-and-delivery shipments with iterated local search.

PyVRP (Wouters et al., "PyVRP: a high-performance VRP solver package",
INFORMS J. Computing 2024) models paired shipments natively in the 0.14
release pinned here (``Model.add_shipment``). Vehicles with the same
capacity, shift, start and end share one vehicle type. In the first phase
each shipment is optional with a prize far above the fixed cost of a
vehicle, so serving more beats using fewer vehicles, which beats driving
less: the portfolio's ranking. The fleet phase makes them required.
"""

from __future__ import annotations

import time
import warnings
from collections import defaultdict
from collections.abc import Sequence

import pyvrp
from pyvrp.exceptions import PenaltyBoundWarning
from pyvrp.stop import (
    FirstFeasible,
    MaxIterations,
    MaxRuntime,
    MultipleCriteria,
    StoppingCriterion,
)

from solver.peers import (
    PeerBudget,
    PeerRoutes,
    check_in_scope,
    matrices,
    ticks_down,
    ticks_up,
    time_origin,
)
from solver.problem import Problem, Shipment, StopKind, Vehicle

NAME = "pyvrp"

# Keeps the fixed cost positive even for a zero-length shift.
SCALE_FLOOR = 1

_VehicleKind = tuple[int, float, float, str, str]


def _kind(problem: Problem, vehicle: Vehicle) -> _VehicleKind:
    return (
        vehicle.capacity,
        vehicle.shift_start,
        vehicle.shift_end,
        vehicle.start_location_id,
        problem.end_location(vehicle),
    )


def solve(
    problem: Problem,
    shipments: Sequence[Shipment],
    budget: PeerBudget,
    *,
    start: PeerRoutes | None = None,
) -> PeerRoutes:
    """Route ``shipments`` with PyVRP and return each vehicle's visits.

    The search runs in three phases, as PyVRP's ``minimise_fleet`` does for
    clients: a first plan with every shipment optional; then, when every
    shipment is served by vehicles of one kind, repeated tries with one
    vehicle fewer and every shipment required, each ending at the first
    feasible plan; last, an improvement of the smallest feasible fleet's plan.

    Parameters
    ----------
    problem
        Vehicles, depots and travel times; it must be in the peers' scope.
    shipments
        The shipments to place (those our checks did not rule out).
    budget
        Seed, and an iteration bound and/or a time limit, shared between
        the phases.
    start
        Another engine's routes for the same shipments (every one served)
        to start from instead of the first phase.

    Returns
    -------
    PeerRoutes
        Visits per vehicle id, in order; shipments left out are dropped.

    Raises
    ------
    UnsupportedByPeer
        If the problem uses a feature PyVRP cannot model exactly here.
    """
    check_in_scope(problem, NAME)
    clock = _Clock(budget)
    kinds = _vehicle_kinds(problem)
    order = list(kinds)
    data = _data(problem, shipments, kinds, required=False, fleet=None)
    served = sum(len(visits) for visits in (start or {}).values()) // 2
    if start is not None and served == len(shipments):
        best = _solution(data, start, shipments, kinds)
    else:
        best = _run(data, clock.phase(0.25), budget.seed, None)

    fleet = best.num_routes()
    complete = len(shipments) == sum(r.num_shipments() for r in best.routes())
    if len(kinds) == 1 and complete:
        best_data = data
        while fleet > 1 and not clock.spent():
            smaller = _data(problem, shipments, kinds, required=True, fleet=fleet - 1)
            stop = MultipleCriteria([FirstFeasible(), clock.phase(0.6)])
            found = _run(smaller, stop, budget.seed, _without_smallest(smaller, best))
            if not found.is_feasible():
                break
            best, best_data, fleet = found, smaller, fleet - 1
        if not clock.spent():
            best = _run(best_data, clock.phase(1.0), budget.seed, best)

    routes: PeerRoutes = {}
    taken: dict[int, int] = defaultdict(int)
    for route in best.routes():
        type_index = route.vehicle_type()
        vehicle_id = kinds[order[type_index]][taken[type_index]]
        taken[type_index] += 1
        routes[vehicle_id] = [
            (shipments[step.idx].id, _KINDS[step.type])
            for step in route.schedule()
            if step.type in _KINDS
        ]
    return routes


def _solution(
    data: pyvrp.ProblemData,
    routes: PeerRoutes,
    shipments: Sequence[Shipment],
    kinds: dict[_VehicleKind, list[str]],
) -> pyvrp.Solution:
    position = {shipment.id: i for i, shipment in enumerate(shipments)}
    type_of = {
        vehicle_id: index
        for index, vehicle_ids in enumerate(kinds.values())
        for vehicle_id in vehicle_ids
    }
    activity = {
        StopKind.PICKUP: pyvrp.ActivityType.PICKUP,
        StopKind.DELIVERY: pyvrp.ActivityType.DELIVERY,
    }
    return pyvrp.Solution(
        data,
        [
            pyvrp.Route(
                data,
                [pyvrp.Activity(activity[kind], position[p]) for p, kind in visits],
                type_of[vehicle_id],
            )
            for vehicle_id, visits in routes.items()
            if visits
        ],
    )


def _without_smallest(
    data: pyvrp.ProblemData, solution: pyvrp.Solution
) -> pyvrp.Solution:
    # The fleet phase starts from the plan it has, less its lightest route;
    # the search then has to fit that route's shipments elsewhere. This is
    # the usual route-elimination step of fleet minimisation, e.g. Nagata &
    # Bräysy's ejection search for the VRPTW (2009).
    routes = sorted(solution.routes(), key=lambda route: route.num_shipments())
    return pyvrp.Solution(
        data,
        [
            pyvrp.Route(
                data,
                [
                    pyvrp.Activity(step.type, step.idx)
                    for step in route.schedule()
                    if step.type in _KINDS
                ],
                route.vehicle_type(),
            )
            for route in routes[1:]
        ],
    )


def _vehicle_kinds(problem: Problem) -> dict[_VehicleKind, list[str]]:
    kinds: dict[_VehicleKind, list[str]] = defaultdict(list)
    for vehicle in problem.vehicles:
        kinds[_kind(problem, vehicle)].append(vehicle.id)
    return dict(kinds)


def _data(
    problem: Problem,
    shipments: Sequence[Shipment],
    kinds: dict[_VehicleKind, list[str]],
    *,
    required: bool,
    fleet: int | None,
) -> pyvrp.ProblemData:
    origin = time_origin(problem)
    model = pyvrp.Model()
    places = [model.add_location(loc.x, loc.y) for loc in problem.locations]
    distance, duration = matrices(problem)
    for i, frm in enumerate(places):
        for j, to in enumerate(places):
            if i != j:
                model.add_edge(frm, to, distance[i][j], duration[i][j])

    def at(location_id: str) -> pyvrp.Location:
        return places[problem.location_index(location_id)]

    depots: dict[str, pyvrp.Depot] = {}
    for kind in kinds:
        for location_id in (kind[3], kind[4]):
            if location_id not in depots:
                depots[location_id] = model.add_depot(at(location_id))

    # A vehicle costs more than any route can drive, so fewer vehicles win;
    # a shipment is worth more than a vehicle, so serving it wins (as in
    # solver.ortools_model).
    longest = max((v.shift_end - v.shift_start for v in problem.vehicles), default=0)
    vehicle_cost = 2 * ticks_up(longest) + SCALE_FLOOR
    for kind, vehicle_ids in kinds.items():
        capacity, start, end, start_at, end_at = kind
        model.add_vehicle_type(
            num_available=len(vehicle_ids) if fleet is None else fleet,
            capacity=capacity,
            start_depot=depots[start_at],
            end_depot=depots[end_at],
            fixed_cost=vehicle_cost,
            tw_early=ticks_up(start - origin),
            tw_late=ticks_down(end - origin),
        )
    for shipment in shipments:
        pickup, delivery = shipment.pickup, shipment.delivery
        model.add_shipment(
            at(pickup.location_id),
            at(delivery.location_id),
            pickup_tw_early=ticks_up(pickup.ready - origin),
            pickup_tw_late=ticks_down(pickup.due - origin),
            pickup_service_duration=ticks_up(pickup.service),
            delivery_tw_early=ticks_up(delivery.ready - origin),
            delivery_tw_late=ticks_down(delivery.due - origin),
            delivery_service_duration=ticks_up(delivery.service),
            amount=shipment.load,
            prize=4 * vehicle_cost,
            required=required,
            name=shipment.id,
        )
    return model.data()


def _run(
    data: pyvrp.ProblemData,
    stop: StoppingCriterion,
    seed: int,
    initial: pyvrp.Solution | None,
) -> pyvrp.Solution:
    with warnings.catch_warnings():
        # Trying one vehicle fewer than can work drives PyVRP's penalties to
        # their bound; that is the expected end of the fleet phase.
        warnings.simplefilter("ignore", PenaltyBoundWarning)
        result = pyvrp.solve(
            data,
            stop,
            seed=seed,
            collect_stats=False,
            display=False,
            initial_solution=initial,
        )
    return result.best


class _Clock:
    """Shares a budget's iterations and seconds between search phases."""

    def __init__(self, budget: PeerBudget) -> None:
        self._budget = budget
        self._started = time.monotonic()
        self._iterations_left = budget.iterations

    def spent(self) -> bool:
        """Return whether the time or the iterations are used up."""
        limit = self._budget.time_limit
        if limit is not None and time.monotonic() - self._started >= limit:
            return True
        return self._iterations_left is not None and self._iterations_left <= 0

    def phase(self, share: float) -> StoppingCriterion:
        """Return a stop for a phase that may use ``share`` of what is left."""
        criteria: list[StoppingCriterion] = []
        if self._iterations_left is not None:
            iterations = max(int(self._iterations_left * share), 1)
            self._iterations_left -= iterations
            criteria.append(MaxIterations(iterations))
        if self._budget.time_limit is not None:
            elapsed = time.monotonic() - self._started
            left = max(self._budget.time_limit - elapsed, 0.0)
            criteria.append(MaxRuntime(left * share))
        return MultipleCriteria(criteria)


_KINDS = {
    pyvrp.ActivityType.PICKUP: StopKind.PICKUP,
    pyvrp.ActivityType.DELIVERY: StopKind.DELIVERY,
}
