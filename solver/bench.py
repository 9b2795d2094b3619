"""Benchmark the planners on Li & Lim instances against the best-known results.

Run ``python -m solver.bench --help``. For every instance and time budget it
plans with the portfolio and with bare OR-Tools (and, with ``--peers``, bare
PyVRP and bare VROOM), each given the same seconds, re-checks every plan with
the validator and prints a Markdown table: vehicles and the distance gap to
the best-known solution (``bks.csv``), per instance and on average.
"""

from __future__ import annotations

import argparse
import csv
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console
from rich.progress import Progress

from solver import pyvrp_model, replan_timing, vroom_model
from solver.benchmarks import read_pdptw
from solver.errors import InstanceFormatError, InvalidPlanError
from solver.li_lim import problem_from_li_lim
from solver.peers import PeerBudget, PeerSolve, plan_from_routes
from solver.plan import Plan
from solver.planner import plan_routes
from solver.portfolio import plan_routes_best
from solver.problem import Problem
from solver.reasons import unservable
from solver.validate import validate

DEFAULT_DATA = (
    Path(__file__).resolve().parents[2]
    / "shared"
    / "data"
    / "benchmarks"
    / "li_lim_100"
)
DEFAULT_PANEL = ("lc101", "lc103", "lc104", "lr101", "lr104", "lrc103", "lrc107")
SEED = 1
# OR-Tools' solution bound is set out of reach so the time budget decides.
_UNBOUNDED_SOLUTIONS = 10**9

Engine = Callable[[Problem, float], tuple[Plan | None, str]]


@dataclass(frozen=True)
class BestKnown:
    """A best-known solution's vehicle count and distance."""

    vehicles: int
    distance: float


@dataclass(frozen=True)
class Outcome:
    """One engine's result on one instance at one budget."""

    vehicles: int | None
    distance: float | None
    note: str


def _portfolio(seed: int) -> Engine:
    def run(problem: Problem, budget: float) -> tuple[Plan | None, str]:
        result = plan_routes_best(problem, seed=seed, time_limit=budget)
        return result.plan, result.engine

    return run


def _ortools(seed: int) -> Engine:
    def run(problem: Problem, budget: float) -> tuple[Plan | None, str]:
        try:
            plan = plan_routes(
                problem,
                seed=seed,
                max_solutions=_UNBOUNDED_SOLUTIONS,
                time_limit=budget,
            )
        except InvalidPlanError as error:
            return None, f"invalid: {error}"
        return plan, ""

    return run


def _bare_peer(solve: PeerSolve, seed: int) -> Engine:
    def run(problem: Problem, budget: float) -> tuple[Plan | None, str]:
        impossible = unservable(problem)
        shipments = [s for s in problem.shipments if s.id not in impossible]
        routes = solve(problem, shipments, PeerBudget(seed, time_limit=budget))
        plan = plan_from_routes(problem, routes, impossible)
        violations = validate(problem, plan)
        if violations:
            return None, f"invalid: {violations[0].message}"
        return plan, ""

    return run


def read_bks(directory: Path) -> dict[str, BestKnown]:
    """Return the best-known vehicles and distance per instance name."""
    with (directory / "bks.csv").open(newline="") as handle:
        return {
            row["instance"]: BestKnown(int(row["vehicles"]), float(row["distance"]))
            for row in csv.DictReader(handle)
        }


def _gap(outcome: Outcome, best: BestKnown) -> str:
    if outcome.vehicles is None or outcome.distance is None:
        return f"— ({outcome.note})"
    gap = _percent(outcome.distance, best.distance)
    engine = f" {outcome.note}" if outcome.note else ""
    return f"{outcome.vehicles} / {outcome.distance:.2f} / {gap:+.2f} %{engine}"


def _percent(distance: float, best: float) -> float:
    # Rounding noise below the printed precision must not show as "-0.00".
    return round(100 * (distance - best) / best, 2) + 0.0


def _summary(outcomes: Sequence[Outcome], bests: Sequence[BestKnown]) -> str:
    # A gap only compares like with like at the same vehicle count, so the
    # mean is over the instances where the engine matched the best-known one.
    matched = [
        _percent(o.distance, b.distance)
        for o, b in zip(outcomes, bests, strict=True)
        if o.distance is not None and o.vehicles == b.vehicles
    ]
    mean = f"{sum(matched) / len(matched):+.2f} %" if matched else "n/a"
    return f"{len(matched)}/{len(bests)} at BKS vehicles, mean gap {mean} on those"


def run(
    instances: Sequence[str],
    budgets: Sequence[float],
    *,
    data: Path,
    peers: bool,
    seed: int = SEED,
    out: Callable[[str], None] = print,
) -> None:
    """Plan every instance at every budget with every engine; print the table.

    Raises
    ------
    FileNotFoundError
        If ``data`` has no ``bks.csv`` or an instance file is missing.
    """
    if not (data / "bks.csv").is_file():
        raise FileNotFoundError(
            f"no Li & Lim benchmark data at {data} (expected bks.csv and "
            "<instance>.txt files); pass --data DIRECTORY"
        )
    bks = read_bks(data)
    engines: dict[str, Engine] = {
        "portfolio": _portfolio(seed),
        "ortools": _ortools(seed),
    }
    if peers:
        engines["pyvrp"] = _bare_peer(pyvrp_model.solve, seed)
        engines["vroom"] = _bare_peer(vroom_model.solve, seed)

    results: dict[tuple[float, str, str], Outcome] = {}
    problems = {
        name: problem_from_li_lim(read_pdptw(data / f"{name}.txt"))
        for name in instances
    }
    jobs = [(b, n, e) for b in budgets for n in instances for e in engines]
    with Progress(console=Console(stderr=True), transient=True) as progress:
        task = progress.add_task("planning", total=len(jobs))
        for budget, name, engine in jobs:
            progress.update(task, description=f"{name} {engine} {budget:g} s")
            plan, note = engines[engine](problems[name], budget)
            results[(budget, name, engine)] = Outcome(
                plan.vehicles_used if plan else None,
                plan.distance if plan else None,
                note,
            )
            progress.advance(task)

    header = ["instance", "budget", "BKS"] + [
        f"{e} (veh / dist / gap)" for e in engines
    ]
    out("| " + " | ".join(header) + " |")
    out("|" + "---|" * len(header))
    for budget in budgets:
        for name in instances:
            best = bks[name]
            cells = [name, f"{budget:g} s", f"{best.vehicles} / {best.distance:.2f}"]
            cells += [_gap(results[(budget, name, e)], best) for e in engines]
            out("| " + " | ".join(cells) + " |")
        cells = ["**mean**", f"{budget:g} s", ""]
        cells += [
            _summary(
                [results[(budget, n, e)] for n in instances],
                [bks[n] for n in instances],
            )
            for e in engines
        ]
        out("| " + " | ".join(cells) + " |")


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the command line and run the benchmark; return the exit status."""
    parser = argparse.ArgumentParser(
        prog="python -m solver.bench", description=__doc__.splitlines()[0]
    )
    parser.add_argument(
        "--instances",
        default=",".join(DEFAULT_PANEL),
        help="comma-separated instance names (default: %(default)s)",
    )
    parser.add_argument(
        "--budgets",
        nargs="+",
        default=["2"],
        help="seconds per engine and instance, e.g. 1 2 10 or 1,2,10 (default: 2)",
    )
    parser.add_argument(
        "--peers", action="store_true", help="also run bare PyVRP and bare VROOM"
    )
    parser.add_argument(
        "--seed",
        type=int,
        default=SEED,
        help="seed for every engine that takes one (default: %(default)s)",
    )
    parser.add_argument(
        "--data",
        type=Path,
        default=DEFAULT_DATA,
        help="directory with the Li & Lim files and bks.csv (default: %(default)s)",
    )
    parser.add_argument(
        "--replan",
        action="store_true",
        help="then time the re-plan after a breakdown (python -m "
        "solver.replan_timing, on its default lc1_2_1 day)",
    )
    args = parser.parse_args(argv)
    instances = [name.strip() for name in args.instances.split(",") if name.strip()]
    words = [b for item in args.budgets for b in item.split(",") if b.strip()]
    try:
        budgets = [float(b) for b in words]
    except ValueError:
        parser.error(f"--budgets takes seconds like 1 2 10, not {args.budgets!r}")
    if not budgets or any(not 0 < b < 3600 for b in budgets):
        parser.error("every budget must be more than 0 and under 3600 seconds")
    try:
        run(instances, budgets, data=args.data, peers=args.peers, seed=args.seed)
    except (FileNotFoundError, InstanceFormatError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if args.replan:
        print()
        replan_timing.main([])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
