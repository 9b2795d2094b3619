"""The public entry point: ``plan_routes`` turns a problem into a checked plan."""

from __future__ import annotations

import logging

from solver import ortools_model
from solver.errors import InvalidPlanError, ProblemDataError
from solver.plan import Plan, Unserved, UnservedReason, schedule_route
from solver.problem import Problem
from solver.reasons import unservable
from solver.validate import validate

logger = logging.getLogger(__name__)


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
        It, not the clock, decides when the search ends.
    time_limit
        Seconds; an additional safety net for interactive use.
    warm_start
        A previous plan to start from (re-planning). Its stops are replayed
        where they still exist and still fit; otherwise the search starts
        afresh. Putting a shipment on another vehicle than ``warm_start``
        did costs ``ortools_model.MOVE_PENALTY_SHIFTS`` longest shifts, more
        than any detour it could save, so a re-plan changes as little as
        possible (a vehicle that is gone frees its shipments to move). For
        an answer within milliseconds, ``solver.repair.repair_plan`` first.

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

    impossible = unservable(problem)
    placeable = [s for s in problem.shipments if s.id not in impossible]
    warm_routes = None
    if warm_start is not None:
        warm_routes = {
            route.vehicle_id: [(stop.parcel_id, stop.kind) for stop in route.stops]
            for route in warm_start.routes
        }

    result = ortools_model.solve(
        problem,
        placeable,
        seed=seed,
        max_solutions=max_solutions,
        time_limit=time_limit,
        warm_routes=warm_routes,
        left_out=frozenset(impossible) - {s.id for s in problem.shipments},
    )

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
    logger.info(
        "plan_routes vehicles=%s distance=%.2f unserved=%s warm_started=%s",
        plan.vehicles_used,
        plan.distance,
        len(plan.unserved),
        result.warm_started,
    )
    return plan


def _no_room(parcel_id: str) -> Unserved:
    return Unserved(
        parcel_id,
        UnservedReason.NO_ROOM_FOUND,
        "It passes every feasibility check, but the search found no route with "
        "room for it.",
    )
