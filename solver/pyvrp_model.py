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
from solver.route_elimination import rank_routes

NAME = "pyvrp"

# Keeps the fixed cost positive even for a zero-length shift.
SCALE_FLOOR = 1

# Share of the time left that one try at a vehicle fewer may take.
_CUT_SHARE = 0.6

# Below this many seconds a route to eliminate is chosen by our insertion
# check (``solver.route_elimination``), which finds the fewest vehicles
# fastest; from it on, the shortest route goes first, which is slower to
# cut but, on lc103 over four seeds at 10 s, led to shorter plans at the
# fewest vehicles (the fast cut starts from a greedy insertion and the
# search stays near it). A budget bounded by iterations alone ranks.
RANKED_UNTIL = 3.0

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
    feasible plan (which route to take out: see ``RANKED_UNTIL``); last, an
    improvement of the smallest feasible fleet's plan.

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
    ranked = budget.time_limit is None or budget.time_limit < RANKED_UNTIL
    kinds = _vehicle_kinds(problem)
    data = _data(problem, shipments, kinds, required=False, fleet=None)
    served = sum(len(visits) for visits in (start or {}).values()) // 2
    if start is not None and served == len(shipments):
        best = _solution(data, start, shipments, kinds)
    else:
        best = _run(data, clock.phase(0.15), budget.seed, None)

    fleet = best.num_routes()
    complete = len(shipments) == sum(r.num_shipments() for r in best.routes())
    if len(kinds) == 1 and complete:
        best_data = data
        while fleet > 1 and not clock.spent():
            smaller = _data(problem, shipments, kinds, required=True, fleet=fleet - 1)
            found = _one_vehicle_fewer(
                problem,
                shipments,
                kinds,
                smaller,
                best,
                clock.portion(_CUT_SHARE),
                budget.seed,
                ranked,
            )
            if found is None:
                break
            best, best_data, fleet = found, smaller, fleet - 1
        if not clock.spent():
            best = _run(best_data, clock.phase(1.0), budget.seed, best)

    return _routes(best, shipments, kinds)


def improve(
    problem: Problem,
    shipments: Sequence[Shipment],
    budget: PeerBudget,
    start: PeerRoutes,
) -> PeerRoutes:
    """Improve ``start`` with PyVRP's search, keeping its number of vehicles.

    The portfolio's second round: both cores search on from the best plan
    of the first, with different seeds, instead of one of them spending
    its time on a plan with a vehicle more.

    Parameters
    ----------
    problem
        Vehicles, depots and travel times; it must be in the peers' scope.
    shipments
        The shipments ``start`` was planned for.
    budget
        Seed, and an iteration bound and/or a time limit.
    start
        A plan for ``shipments``; when it serves every one, with one vehicle
        kind, the search may use no more vehicles than it does and must
        serve them all, otherwise it works as the first phase of ``solve``.

    Returns
    -------
    PeerRoutes
        The best plan found, ``start`` included.

    Raises
    ------
    UnsupportedByPeer
        If the problem uses a feature PyVRP cannot model exactly here.
    """
    check_in_scope(problem, NAME)
    kinds = _vehicle_kinds(problem)
    used = sum(1 for visits in start.values() if visits)
    served = sum(len(visits) for visits in start.values()) // 2
    if len(kinds) == 1 and served == len(shipments) and used > 0:
        data = _data(problem, shipments, kinds, required=True, fleet=used)
    else:
        data = _data(problem, shipments, kinds, required=False, fleet=None)
    initial = _solution(data, start, shipments, kinds)
    best = _run(data, _Clock(budget).phase(1.0), budget.seed, initial)
    return _routes(best, shipments, kinds)


def _routes(
    best: pyvrp.Solution,
    shipments: Sequence[Shipment],
    kinds: dict[_VehicleKind, list[str]],
) -> PeerRoutes:
    order = list(kinds)
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


def _one_vehicle_fewer(
    problem: Problem,
    shipments: Sequence[Shipment],
    kinds: dict[_VehicleKind, list[str]],
    data: pyvrp.ProblemData,
    solution: pyvrp.Solution,
    clock: _Clock,
    seed: int,
    ranked: bool,
) -> pyvrp.Solution | None:
    """A feasible plan with one route fewer than ``solution``, or None in time.

    Each attempt takes one route out and ends at the first feasible plan;
    the search has to fit that route's shipments elsewhere (the
    route-elimination step of fleet minimisation). Which route goes matters
    more than how long the search tries. With ``ranked``, ``rank_routes``
    first moves each route's shipments into the others with our insertion
    check; the routes that leave the fewest shipments over are tried first,
    each attempt starting from the others with what fitted already inserted
    (on lc103 the three best-ranked routes then went in 0.3 s or less for
    each of three seeds; taking out the shortest route took 0.2 s, 1 s,
    and failed within 1 s). Without it the routes go shortest in time
    first, each attempt starting from the others as they are. The attempts
    are short and take every route in turn with another seed each time;
    each round of them doubles the length of an attempt (restarts with
    growing cut-offs, as in Luby et al., "Optimal speedup of Las Vegas
    algorithms", 1993).
    """
    visits = _routes(solution, shipments, kinds)
    if ranked:
        order = rank_routes(problem, list(visits.items()))
        starts = [_solution(data, e.others, shipments, kinds) for e in order]
        if starts and starts[0].is_feasible():
            # Every shipment of the best-ranked route fitted elsewhere.
            return starts[0]
    else:
        shortest = sorted(
            zip(visits, solution.routes(), strict=True),
            key=lambda pair: pair[1].duration(),
        )
        starts = [
            _solution(
                data,
                {v: r for v, r in visits.items() if v != left_out},
                shipments,
                kinds,
            )
            for left_out, _ in shortest
        ]
    cut_off = 1 / len(starts)
    attempt = 0
    while not clock.spent():
        for start in starts:
            if clock.spent():
                return None
            stop = MultipleCriteria([FirstFeasible(), clock.slice(cut_off)])
            found = _run(data, stop, seed + attempt, start)
            attempt += 1
            if found.is_feasible():
                return found
        cut_off *= 2
    return None


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
        return self._seconds_left() == 0.0 or self._iterations_left == 0

    def _seconds_left(self) -> float | None:
        limit = self._budget.time_limit
        if limit is None:
            return None
        return max(limit - (time.monotonic() - self._started), 0.0)

    def _take(self, iterations: int) -> int:
        assert self._iterations_left is not None
        taken = max(min(iterations, self._iterations_left), 1)
        self._iterations_left = max(self._iterations_left - taken, 0)
        return taken

    def phase(self, share: float) -> StoppingCriterion:
        """Return a stop for a phase that may use ``share`` of what is left."""
        criteria: list[StoppingCriterion] = []
        if self._iterations_left is not None:
            criteria.append(
                MaxIterations(self._take(int(self._iterations_left * share)))
            )
        left = self._seconds_left()
        if left is not None:
            criteria.append(MaxRuntime(left * share))
        return MultipleCriteria(criteria)

    def portion(self, share: float) -> _Clock:
        """Return a clock of its own for ``share`` of what is left."""
        iterations = None
        if self._iterations_left is not None:
            iterations = self._take(int(self._iterations_left * share))
        left = self._seconds_left()
        seconds = None if left is None else left * share
        return _Clock(PeerBudget(self._budget.seed, seconds, iterations))

    def slice(self, fraction: float) -> StoppingCriterion:
        """Return a stop after ``fraction`` of the whole budget, or what is left."""
        criteria: list[StoppingCriterion] = []
        if self._budget.iterations is not None:
            criteria.append(
                MaxIterations(self._take(int(self._budget.iterations * fraction)))
            )
        left = self._seconds_left()
        if left is not None and self._budget.time_limit is not None:
            criteria.append(MaxRuntime(min(self._budget.time_limit * fraction, left)))
        return MultipleCriteria(criteria)


_KINDS = {
    pyvrp.ActivityType.PICKUP: StopKind.PICKUP,
    pyvrp.ActivityType.DELIVERY: StopKind.DELIVERY,
}
