"""Print how fast a re-plan after a breakdown is: ``python -m solver.replan_timing``.

A measurement, not a test (tests never time the clock). By default it plans
Li & Lim lc1_2_1 (106 shipments) with one spare vehicle; ``--generated N``
plans a generated Li & Lim-style day of N shipments instead
(``solver.generate``). It then drives the plan to a quarter of the shift
(``state_at``), loses the busiest vehicle there (``without_vehicle``), and
times the first valid answer (``repair_plan``) and the full warm-started
search (``plan_routes(..., warm_start=...)``).
"""

from __future__ import annotations

import argparse
import statistics
import time
from dataclasses import replace
from pathlib import Path

from solver.benchmarks import read_pdptw
from solver.degradations import state_at, without_vehicle
from solver.errors import InstanceFormatError
from solver.generate import STYLES, generated_day
from solver.li_lim import problem_from_li_lim
from solver.plan import Plan
from solver.planner import plan_routes
from solver.problem import Problem
from solver.repair import repair_plan
from solver.validate import validate

DEFAULT = (
    Path(__file__).resolve().parents[2]
    / "shared/data/benchmarks/li_lim_large/lc1_2_1.txt"
)

# With a time limit, the solution bound is out of reach: the clock decides.
_UNBOUNDED = 10**9


def main(argv: list[str] | None = None) -> None:
    """Run the measurement and print one line per step."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("instance", nargs="?", type=Path, default=DEFAULT)
    parser.add_argument(
        "--generated", type=int, metavar="N", help="plan a generated day of N"
    )
    parser.add_argument("--style", choices=sorted(STYLES), default="lrc1")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--solutions", type=int, default=50)
    parser.add_argument(
        "--limit",
        type=float,
        help="seconds for the full re-plan (default: bounded by --solutions, "
        "or 9 s for a generated day)",
    )
    parser.add_argument(
        "--day-limit",
        type=float,
        default=30.0,
        help="seconds for the generated day's first plan (default: 30)",
    )
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--at", type=float, default=0.25, help="share of the shift")
    args = parser.parse_args(argv)
    if args.solutions < 1 or args.repeats < 1:
        parser.error("--solutions and --repeats must be at least 1")
    if not 0 <= args.at < 1:
        parser.error("--at is a share of the shift: at least 0 and below 1")
    if args.generated is not None and args.generated < 1:
        parser.error("--generated takes a number of shipments, at least 1")

    if args.generated is None:
        try:
            base = problem_from_li_lim(read_pdptw(args.instance))
        except (OSError, InstanceFormatError) as error:
            parser.error(str(error))
        day, plan = _instance_day(base, args.solutions)
        label = args.instance.name
        limit = args.limit
    else:
        day, plan = _generated_day(args)
        label = f"generated {args.style} day (seed {args.seed})"
        limit = 9.0 if args.limit is None else args.limit
    _breakdown(label, day, plan, args, limit)


def _instance_day(base: Problem, solutions: int) -> tuple[Problem, Plan]:
    """Plan the instance, then keep the vehicles used and one spare."""
    first = plan_routes(base, seed=1, max_solutions=solutions)
    day = replace(base, vehicles=base.vehicles[: first.vehicles_used + 1])
    return day, plan_routes(day, seed=1, max_solutions=solutions)


def _generated_day(args: argparse.Namespace) -> tuple[Problem, Plan]:
    """Generate the day and plan it cold within ``--day-limit`` seconds."""
    begin = time.perf_counter()
    day = generated_day(args.generated, seed=args.seed, style=args.style)
    print(
        f"generated {args.style} day, seed {args.seed}: {len(day.shipments)} "
        f"shipments, {len(day.vehicles)} vehicles "
        f"({time.perf_counter() - begin:.2f} s to generate)"
    )
    begin = time.perf_counter()
    plan = plan_routes(
        day, seed=args.seed, max_solutions=_UNBOUNDED, time_limit=args.day_limit
    )
    print(
        f"full plan of the day (cold, time limit {args.day_limit:g} s): "
        f"{time.perf_counter() - begin:.2f} s; {plan.vehicles_used} routes, "
        f"distance {plan.distance:.2f}, unserved={len(plan.unserved)}"
    )
    return day, plan


def _breakdown(
    label: str,
    day: Problem,
    plan: Plan,
    args: argparse.Namespace,
    limit: float | None,
) -> None:
    shift = day.vehicles[0]
    at = shift.shift_start + args.at * (shift.shift_end - shift.shift_start)
    begin = time.perf_counter()
    now = state_at(day, plan, at)
    state_seconds = time.perf_counter() - begin
    busiest = max(plan.routes, key=lambda r: len(r.stops))
    stopped = now.vehicle(busiest.vehicle_id)
    assert stopped is not None
    where = stopped.start_location_id
    idle = len(day.vehicles) - plan.vehicles_used
    print(
        f"{label}: {len(day.shipments)} shipments, {plan.vehicles_used} routes "
        f"+ {idle} idle; at {at:g} {len(now.shipments)} shipments left "
        f"(state_at {1000 * state_seconds:.1f} ms); losing "
        f"{busiest.vehicle_id} with {len(stopped.on_board)} parcels on board"
    )

    timings = []
    repaired = None
    for _ in range(args.repeats):
        begin = time.perf_counter()
        after = without_vehicle(now, busiest.vehicle_id, position=where, at=at)
        repaired = repair_plan(after, plan)
        timings.append(time.perf_counter() - begin)
    status = "none" if repaired is None else f"unserved={len(repaired.unserved)}"
    if repaired is not None:
        status += f", distance {repaired.distance:.2f}"
    print(
        f"first valid re-plan (without_vehicle + repair, validated): median "
        f"{1000 * statistics.median(timings):.1f} ms, max "
        f"{1000 * max(timings):.1f} ms over {args.repeats} runs; {status}"
    )

    begin = time.perf_counter()
    after = without_vehicle(now, busiest.vehicle_id, position=where, at=at)
    searched = plan_routes(
        after,
        seed=args.seed,
        max_solutions=args.solutions if limit is None else _UNBOUNDED,
        time_limit=limit,
        warm_start=plan,
    )
    seconds = time.perf_counter() - begin
    bound = f"{args.solutions} solutions" if limit is None else f"limit {limit:g} s"
    verdict = "valid" if not validate(after, searched) else "INVALID"
    print(
        f"full warm-started re-plan (without_vehicle + plan_routes, {bound}): "
        f"{seconds:.2f} s; {searched.vehicles_used} routes, distance "
        f"{searched.distance:.2f}, unserved={len(searched.unserved)}, {verdict}"
    )


if __name__ == "__main__":
    main()
