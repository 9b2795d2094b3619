"""The public entry point: ``plan_routes`` turns a problem into a checked plan."""

from __future__ import annotations

import logging
from time import monotonic

from solver import ortools_model
from solver.errors import InvalidPlanError, NoPlanFoundError, ProblemDataError
from solver.plan import Plan, Unserved, UnservedReason, schedule_route
from solver.problem import Problem, StopKind
from solver.reasons import unservable
from solver.repair import repair_plan
from solver.validate import validate

logger = logging.getLogger(__name__)

# From this many shipments on, a cold search starts from our own cheapest
# insertion (``solver.repair``) instead of OR-Tools' parallel cheapest
# insertion, which takes tens of seconds on a 1,000-shipment day and does
# not stop for the time limit. Below it (the Li & Lim 100 set has 50-55
# shipments) OR-Tools' construction is fast and better.
CONSTRUCT_FROM = 200

# Share of the time limit kept for re-timing and validating the plan.
_FINISH_SHARE = 0.05


def plan_routes(
    problem: Problem,
    *,
    seed: int,
    max_solutions: int,
    time_limit: float | None = None,
    warm_start: Plan | None = None,
) -> Plan:
    """Plan routes that serve as many shipments as possible with few vehicles.

    Parameters
    ----------
    problem
        Vehicles, depots, shipments and travel times.
    seed
        Makes the search repeatable: the same problem, seed and bound give
        the same plan.
    max_solutions
        The search bound: how many solutions the local search may visit.
        Without ``time_limit`` it, not the clock, decides when the search
        ends.
    time_limit
        Seconds for the whole call, for interactive use. When they run out
        the best plan found so far is returned; a search that starts from
        a plan built without search (a warm start, or a problem of
        ``CONSTRUCT_FROM`` shipments or more) therefore always returns one.
        Building that plan is not cut short: a limit below its time (about
        3 s for a cold 1,000-shipment day) is overrun.
    warm_start
        A previous plan to start from (re-planning). The search starts from
        it repaired (``solver.repair.repair_plan``: its stops kept where
        they still exist and fit, what it lacks inserted), or from its
        replayable stops when the repair declines. Putting a shipment on
        another vehicle than ``warm_start`` did costs
        ``ortools_model.MOVE_PENALTY_SHIFTS`` longest shifts, more than any
        detour it could save, so a re-plan changes as little as possible
        (a vehicle that is gone frees its shipments to move). For an answer
        within milliseconds, ``solver.repair.repair_plan`` first.

    Returns
    -------
    Plan
        Most shipments served first (when some must stay unserved, the
        newest promises do: ``Shipment.promised_at``), then few vehicles and
        few moves from ``warm_start`` (a vehicle weighs two moves), then
        shortest distance. Shipments our checks prove impossible are left
        out with their reason (``solver.reasons.unservable``); a shipment
        that passes them but that the search still drops is
        ``no_room_found``.

    Raises
    ------
    ProblemDataError
        If ``max_solutions`` is not positive.
    NoPlanFoundError
        If a vehicle cannot reach its end depot within its shift.
    InvalidPlanError
        If the independent validator rejects the plan (a planner bug); the
        plan is never returned quietly wrong.
    """
    if max_solutions <= 0:
        raise ProblemDataError("must be positive", field="max_solutions")
    started = monotonic()

    impossible = unservable(problem)
    placeable = [s for s in problem.shipments if s.id not in impossible]
    warm_routes = _visits(warm_start) if warm_start is not None else None
    start = _starting_plan(problem, warm_start, len(placeable))
    search_limit = None
    if time_limit is not None:
        search_limit = time_limit * (1 - _FINISH_SHARE) - (monotonic() - started)
        if start is not None and search_limit <= 0:
            logger.info("plan_routes search=skipped reason=time_limit")
            return start

    try:
        result = ortools_model.solve(
            problem,
            placeable,
            seed=seed,
            max_solutions=max_solutions,
            time_limit=None if search_limit is None else max(search_limit, 0.001),
            warm_routes=warm_routes,
            left_out=frozenset(impossible) - {s.id for s in problem.shipments},
            initial_routes=_visits(start) if start is not None else None,
        )
    except NoPlanFoundError:
        if start is None:
            raise
        # The search found nothing in time; the valid start stands.
        logger.warning("plan_routes search=failed returning=start")
        return start

    routes = [
        schedule_route(problem, vehicle_id, visits)
        for vehicle_id, visits in result.routes.items()
        if visits
    ]
    unserved = list(impossible.values())
    unserved += [_no_room(parcel_id) for parcel_id in sorted(result.dropped)]
    plan = Plan.from_routes(routes, unserved)

    violations = validate(problem, plan)
    if violations:
        raise InvalidPlanError(violations)
    if start is not None and _rank(start) < _rank(plan):
        # Only when the search ran out of time before it got back to where
        # it started (it starts from ``start``, so it cannot end worse).
        plan = start
    logger.info(
        "plan_routes vehicles=%s distance=%.2f unserved=%s warm_started=%s",
        plan.vehicles_used,
        plan.distance,
        len(plan.unserved),
        result.warm_started,
    )
    return plan


def _visits(plan: Plan) -> dict[str, list[tuple[str, StopKind]]]:
    return {
        route.vehicle_id: [(stop.parcel_id, stop.kind) for stop in route.stops]
        for route in plan.routes
    }


def _starting_plan(
    problem: Problem, warm_start: Plan | None, placeable: int
) -> Plan | None:
    """A valid plan to start the search from, built without search, or None.

    With a warm start, that plan repaired: its routes kept, the shipments it
    lacks inserted (``repair_plan``); the search then begins with everything
    placed and only improves. A large cold problem starts from the same
    insertion into empty routes. None when neither applies or the repair
    declines (driver breaks, routes no longer valid).
    """
    if warm_start is not None:
        return repair_plan(problem, warm_start)
    if placeable >= CONSTRUCT_FROM:
        return repair_plan(problem, Plan.from_routes([], []))
    return None


def _rank(plan: Plan) -> tuple[int, int, float]:
    return (len(plan.unserved), plan.vehicles_used, plan.distance)


def _no_room(parcel_id: str) -> Unserved:
    return Unserved(
        parcel_id,
        UnservedReason.NO_ROOM_FOUND,
        "It passes every feasibility check, but the search found no route with "
        "room for it.",
    )
