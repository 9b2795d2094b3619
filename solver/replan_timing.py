"""Print how fast a re-plan after a breakdown is: ``python -m solver.replan_timing``.

A measurement, not a test (tests never time the clock). It plans Li & Lim
lc1_2_1 (106 shipments) with one spare vehicle, drives it to a quarter of
the shift (``state_at``), loses the busiest vehicle there, and times the
first valid answer (``without_vehicle`` + ``repair_plan``) and the
warm-started search.
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
from solver.li_lim import problem_from_li_lim
from solver.planner import plan_routes
from solver.repair import repair_plan

DEFAULT = (
    Path(__file__).resolve().parents[2]
    / "shared/data/benchmarks/li_lim_large/lc1_2_1.txt"
)


def main() -> None:
    """Run the measurement and print one line per step."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("instance", nargs="?", type=Path, default=DEFAULT)
    parser.add_argument("--solutions", type=int, default=50)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--at", type=float, default=0.25, help="share of the shift")
    args = parser.parse_args()
    if args.solutions < 1 or args.repeats < 1:
        parser.error("--solutions and --repeats must be at least 1")
    if not 0 <= args.at < 1:
        parser.error("--at is a share of the shift: at least 0 and below 1")
    try:
        base = problem_from_li_lim(read_pdptw(args.instance))
    except (OSError, InstanceFormatError) as error:
        parser.error(str(error))
    first = plan_routes(base, seed=1, max_solutions=args.solutions)
    day = replace(base, vehicles=base.vehicles[: first.vehicles_used + 1])
    plan = plan_routes(day, seed=1, max_solutions=args.solutions)
    shift = day.vehicles[0]
    at = shift.shift_start + args.at * (shift.shift_end - shift.shift_start)
    now = state_at(day, plan, at)
    busiest = max(plan.routes, key=lambda r: len(r.stops))
    stopped = now.vehicle(busiest.vehicle_id)
    assert stopped is not None
    where = stopped.start_location_id
    print(
        f"{args.instance.name}: {len(day.shipments)} shipments, "
        f"{plan.vehicles_used} routes + 1 spare; at {at:g} "
        f"{len(now.shipments)} shipments left; losing {busiest.vehicle_id} "
        f"with {len(stopped.on_board)} parcels on board"
    )

    timings = []
    repaired = None
    for _ in range(args.repeats):
        begin = time.perf_counter()
        after = without_vehicle(now, busiest.vehicle_id, position=where, at=at)
        repaired = repair_plan(after, plan)
        timings.append(time.perf_counter() - begin)
    status = "none" if repaired is None else f"unserved={len(repaired.unserved)}"
    print(
        f"first valid re-plan (repair, validated): median "
        f"{1000 * statistics.median(timings):.1f} ms, max "
        f"{1000 * max(timings):.1f} ms over {args.repeats} runs; {status}"
    )
    after = without_vehicle(now, busiest.vehicle_id, position=where, at=at)
    begin = time.perf_counter()
    searched = plan_routes(after, seed=1, max_solutions=args.solutions, warm_start=plan)
    print(
        f"warm-started search ({args.solutions} solutions): "
        f"{time.perf_counter() - begin:.2f} s; unserved={len(searched.unserved)}"
    )


if __name__ == "__main__":
    main()
