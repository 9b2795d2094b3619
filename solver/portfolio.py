"""A portfolio planner: OR-Tools raced against PyVRP and VROOM, best valid wins.

OR-Tools carries every constraint the control room has (locks, parcels on
board, re-planning); the peers are stronger searches on the plain
pickup-and-delivery problem. By default two peers race, one per core:
PyVRP alone, and VROOM whose plan PyVRP (with another seed) then tries to
shrink by a vehicle at a time. A peer that cannot model the problem exactly
refuses (``UnsupportedByPeer``) and is skipped. Racing, that first round
takes ``_FIRST_ROUND`` of the peers' time; in a second round both cores
start from its best plan with new seeds, one still cutting vehicles
(``pyvrp_model.solve`` with a start), one shortening the routes as they are
(``pyvrp_model.improve``), so neither spends the rest on a plan that has
already lost. OR-Tools then starts from the best peer plan
(``warm_start``) for the rest of the time. Every
candidate is re-timed and re-checked by ``solver.validate``; a plan the
validator rejects is discarded, never returned. The winner has the most
shipments served, then the fewest vehicles, then the shortest distance.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import ExitStack
from dataclasses import dataclass
from multiprocessing import get_context

from solver import pyvrp_model, vroom_model
from solver.errors import InvalidPlanError, NoPlanFoundError, ProblemDataError
from solver.peers import (
    Peer,
    PeerBudget,
    PeerRoutes,
    UnsupportedByPeer,
    check_in_scope,
    plan_from_routes,
)
from solver.plan import Plan, Unserved
from solver.planner import plan_routes
from solver.problem import Problem, Shipment
from solver.reasons import unservable
from solver.validate import validate

logger = logging.getLogger(__name__)

ORTOOLS = "ortools"
PYVRP = Peer(pyvrp_model.NAME, pyvrp_model.solve)
VROOM = Peer(vroom_model.NAME, vroom_model.solve)


def _vroom_then_pyvrp(
    problem: Problem, shipments: Sequence[Shipment], budget: PeerBudget
) -> PeerRoutes:
    """VROOM builds a plan fast; PyVRP (another seed) cuts vehicles from it."""
    clock_started = time.monotonic()
    # A quarter: at its deepest exploration VROOM needs 0.2-1 s on the Li &
    # Lim panel and stops at its timeout with the best plan so far; PyVRP
    # makes better use of the rest.
    first = PeerBudget(budget.seed, _share(budget.time_limit, 0.25), 1)
    routes = vroom_model.solve(problem, shipments, first)
    left = None
    if budget.time_limit is not None:
        left = max(budget.time_limit - (time.monotonic() - clock_started), 0.0)
    rest = PeerBudget(budget.seed + 1, left, budget.iterations)
    return pyvrp_model.solve(problem, shipments, rest, start=routes)


VROOM_THEN_PYVRP = Peer("vroom+pyvrp", _vroom_then_pyvrp)
DEFAULT_PEERS: tuple[Peer, ...] = (VROOM_THEN_PYVRP, PYVRP)

# Share of the time limit the peers get (together, when they run one after
# the other); OR-Tools then polishes the best plan so far in the rest.
_PEER_SHARE = 0.9

# Racing, the share of the peers' time for the first round; the second
# round improves the first round's best plan on both cores.
_FIRST_ROUND = 0.6


@dataclass(frozen=True)
class Candidate:
    """What one engine produced: its plan, or why there is none."""

    engine: str
    plan: Plan | None
    note: str = ""


@dataclass(frozen=True)
class PortfolioPlan:
    """The winning plan, the engine that found it, and every candidate."""

    plan: Plan
    engine: str
    candidates: tuple[Candidate, ...]


def rank(plan: Plan) -> tuple[int, int, float]:
    """Return the sort key of a plan: fewer unserved, fewer vehicles, shorter."""
    return (len(plan.unserved), plan.vehicles_used, plan.distance)


def plan_routes_best(
    problem: Problem,
    *,
    seed: int,
    time_limit: float | None,
    max_solutions: int = 2000,
    peer_iterations: int | None = None,
    peers: Sequence[Peer] = DEFAULT_PEERS,
    warm_start_ortools: bool = True,
    race: bool = True,
) -> PortfolioPlan:
    """Plan with every engine that can model ``problem``; keep the best valid.

    Parameters
    ----------
    problem
        Vehicles, depots, shipments and travel times.
    seed
        Seed for OR-Tools and PyVRP (VROOM has none and is deterministic
        with one thread and no timeout).
    time_limit
        Seconds for the whole portfolio, shared between the engines; None
        leaves each engine bounded by work only.
    max_solutions
        OR-Tools' solution bound (see ``plan_routes``).
    peer_iterations
        PyVRP's iteration bound; None lets the time share decide. With
        ``time_limit`` None it must be given.
    peers
        The peer solvers to race; a peer that cannot model the problem
        raises ``UnsupportedByPeer`` and is skipped.
    warm_start_ortools
        Start OR-Tools from the best valid peer plan.
    race
        With a time limit, run every peer but the last in a forked worker
        process, alongside the last one in this process, each for the
        peers' whole share of the time (two cores make two engines). Without
        a time limit the peers run one after the other.

    Returns
    -------
    PortfolioPlan
        The best plan by (unserved, vehicles, distance), the name of the
        engine that built it, and every engine's candidate or refusal.

    Raises
    ------
    ProblemDataError
        If neither a time limit nor a peer iteration bound is given while
        peers are asked to run.
    NoPlanFoundError
        If no engine produced a plan the validator accepts.
    """
    if time_limit is None and peer_iterations is None and peers:
        raise ProblemDataError(
            "give a time limit or a peer iteration bound", field="peer_iterations"
        )
    started = time.monotonic()
    impossible = unservable(problem)
    placeable = [s for s in problem.shipments if s.id not in impossible]

    # Forking is only worth it when the peers can model the problem at all.
    racing = race and time_limit is not None and len(peers) > 1 and _in_scope(problem)
    in_child = peers[:-1] if racing else ()
    here = peers[-1:] if racing else peers
    share = _PEER_SHARE if racing else _PEER_SHARE / max(len(peers), 1)
    # Racing, the peers' time is split in two rounds (see the module
    # docstring); otherwise the first round is all there is.
    first_share = share * _FIRST_ROUND if racing else share
    budget = PeerBudget(seed, _share(time_limit, first_share), peer_iterations)
    outcomes: list[tuple[str, PeerRoutes | UnsupportedByPeer | BrokenProcessPool]]
    outcomes = []
    with ExitStack() as stack:
        futures = []
        pool = None
        if in_child:
            # Forked workers: each peer gets a core of its own for the
            # same seconds; the problem and the routes travel by pickle.
            pool = stack.enter_context(
                ProcessPoolExecutor(len(in_child), mp_context=get_context("fork"))
            )
            futures = [
                (peer.name, pool.submit(_attempt, peer, problem, placeable, budget))
                for peer in in_child
            ]
        for peer in here:
            outcomes.append((peer.name, _attempt(peer, problem, placeable, budget)))
        outcomes = [(name, _collect(f)) for name, f in futures] + outcomes
        candidates = [
            _judge(problem, name, outcome, impossible) for name, outcome in outcomes
        ]
        first = _best(candidates)
        if pool is not None and time_limit is not None and first is not None:
            left = time_limit * share - (time.monotonic() - started)
            candidates += _second_round(problem, placeable, first, seed, left, pool)

    best_peer = _best(candidates)
    warm = best_peer.plan if warm_start_ortools and best_peer is not None else None
    remaining = None
    if time_limit is not None:
        remaining = max(time_limit - (time.monotonic() - started), 0.05)
    candidates.append(_run_ortools(problem, seed, max_solutions, remaining, warm))

    winner = _best(candidates)
    if winner is None or winner.plan is None:
        notes = "; ".join(f"{c.engine}: {c.note}" for c in candidates)
        raise NoPlanFoundError(f"no engine produced a valid plan ({notes})")
    logger.info(
        "plan_routes_best engine=%s vehicles=%s distance=%.2f unserved=%s",
        winner.engine,
        winner.plan.vehicles_used,
        winner.plan.distance,
        len(winner.plan.unserved),
    )
    return PortfolioPlan(winner.plan, winner.engine, tuple(candidates))


def _second_round(
    problem: Problem,
    shipments: Sequence[Shipment],
    first: Candidate,
    seed: int,
    seconds: float,
    pool: ProcessPoolExecutor,
) -> list[Candidate]:
    """Both cores improve the first round's best plan, each with its own seed."""
    assert first.plan is not None
    if seconds <= 0.05:
        return []
    start: PeerRoutes = {
        route.vehicle_id: [(stop.parcel_id, stop.kind) for stop in route.stops]
        for route in first.plan.routes
    }
    name = f"{first.engine}>{pyvrp_model.NAME}"
    budgets = [PeerBudget(seed + offset, seconds) for offset in (2, 3)]
    # One core keeps cutting vehicles from the best plan, the other
    # shortens it as it is: the first round's winner may still have a
    # vehicle too many, or already the fewest.
    future = pool.submit(_improve, problem, shipments, budgets[0], start, True)
    here = _improve(problem, shipments, budgets[1], start, False)
    impossible = unservable(problem)
    return [
        _judge(problem, name, outcome, impossible)
        for outcome in (_collect(future), here)
    ]


def _improve(
    problem: Problem,
    shipments: Sequence[Shipment],
    budget: PeerBudget,
    start: PeerRoutes,
    fewer_vehicles: bool,
) -> PeerRoutes | UnsupportedByPeer:
    try:
        if fewer_vehicles:
            return pyvrp_model.solve(problem, shipments, budget, start=start)
        return pyvrp_model.improve(problem, shipments, budget, start)
    except UnsupportedByPeer as refusal:
        return refusal


def _share(time_limit: float | None, share: float) -> float | None:
    return None if time_limit is None else time_limit * share


def _attempt(
    peer: Peer, problem: Problem, shipments: Sequence[Shipment], budget: PeerBudget
) -> PeerRoutes | UnsupportedByPeer:
    # Returns the refusal rather than raising it, so that it crosses a
    # process boundary like any other result.
    try:
        return peer.solve(problem, shipments, budget)
    except UnsupportedByPeer as refusal:
        return refusal


def _in_scope(problem: Problem) -> bool:
    try:
        check_in_scope(problem, "peers")
    except UnsupportedByPeer:
        return False
    return True


def _collect(
    future: Future[PeerRoutes | UnsupportedByPeer],
) -> PeerRoutes | UnsupportedByPeer | BrokenProcessPool:
    # A worker killed from outside (or crashed in native code) costs that
    # peer its candidate, not the whole plan.
    try:
        return future.result()
    except BrokenProcessPool as error:
        return error


def _judge(
    problem: Problem,
    engine: str,
    outcome: PeerRoutes | UnsupportedByPeer | BrokenProcessPool,
    impossible: Mapping[str, Unserved],
) -> Candidate:
    if isinstance(outcome, UnsupportedByPeer):
        logger.info("peer_skipped peer=%s feature=%s", engine, outcome.feature)
        return Candidate(engine, None, str(outcome))
    if isinstance(outcome, BrokenProcessPool):
        logger.warning("peer_worker_died peer=%s error=%s", engine, outcome)
        return Candidate(engine, None, f"worker process died: {outcome}")
    plan = plan_from_routes(problem, outcome, impossible)
    violations = validate(problem, plan)
    if violations:
        logger.warning(
            "peer_plan_rejected peer=%s violations=%s first=%s",
            engine,
            len(violations),
            violations[0].message,
        )
        return Candidate(
            engine, None, f"rejected by the validator: {violations[0].message}"
        )
    return Candidate(engine, plan)


def _run_ortools(
    problem: Problem,
    seed: int,
    max_solutions: int,
    time_limit: float | None,
    warm: Plan | None,
) -> Candidate:
    try:
        plan = plan_routes(
            problem,
            seed=seed,
            max_solutions=max_solutions,
            time_limit=time_limit,
            warm_start=warm,
        )
    except InvalidPlanError as error:
        logger.warning("ortools_plan_rejected error=%s", error)
        return Candidate(ORTOOLS, None, str(error))
    return Candidate(ORTOOLS, plan)


def _best(candidates: Sequence[Candidate]) -> Candidate | None:
    valid = [(rank(c.plan), order, c) for order, c in enumerate(candidates) if c.plan]
    if not valid:
        return None
    # Ties go to the earlier engine: a peer plan that OR-Tools only
    # replayed stays credited to the peer that found it.
    return min(valid, key=lambda item: (item[0], item[1]))[2]
