"""The portfolio planner, its peer adapters and the benchmark command."""

from __future__ import annotations

import dataclasses
import pickle
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

from solver import (
    OnBoardParcel,
    Problem,
    Shipment,
    Stop,
    StopKind,
    Vehicle,
    bench,
    pyvrp_model,
    validate,
    vroom_model,
)
from solver.peers import (
    Peer,
    PeerBudget,
    PeerRoutes,
    UnsupportedByPeer,
    check_in_scope,
)
from solver.portfolio import PYVRP, VROOM, plan_routes_best
from tests.solver.conftest import LI_LIM, parcel, street


def test_portfolio_plans_lc101_with_the_best_known_ten_vehicles(
    lilim_lc101: Problem,
) -> None:
    result = plan_routes_best(
        lilim_lc101,
        seed=1,
        time_limit=None,
        peer_iterations=300,
        max_solutions=5,
    )

    assert validate(lilim_lc101, result.plan) == []
    assert result.plan.unserved == ()
    assert result.plan.vehicles_used == 10
    assert result.engine in {"ortools", "pyvrp", "vroom+pyvrp"}


def test_each_peer_alone_plans_lc101_validly(lilim_lc101: Problem) -> None:
    budget = PeerBudget(seed=1, iterations=300)
    shipments = list(lilim_lc101.shipments)

    plans = {
        peer.name: peer.solve(lilim_lc101, shipments, budget) for peer in (PYVRP, VROOM)
    }

    served = {
        name: sum(len(visits) for visits in routes.values()) // 2
        for name, routes in plans.items()
    }
    assert served == {"pyvrp": 53, "vroom": 53}


def test_a_vehicle_lock_skips_the_peers_and_ortools_plans_it() -> None:
    problem = street(
        (
            parcel("s1", "h1", "h3", locked_to="van2"),
            parcel("s2", "h2", "h4"),
        )
    )

    result = plan_routes_best(problem, seed=1, time_limit=None, peer_iterations=50)

    assert result.engine == "ortools"
    assert validate(problem, result.plan) == []
    assert result.plan.unserved == ()
    refusals = [c for c in result.candidates if c.engine != "ortools"]
    assert [c.engine for c in refusals] == ["vroom+pyvrp", "pyvrp"]
    assert all(c.plan is None for c in refusals)
    assert all("s1 is locked to a vehicle" in c.note for c in refusals)


def test_a_parcel_on_board_is_out_of_the_peers_scope() -> None:
    on_board = (OnBoardParcel("b1", Stop("h5", 0, 1000, 5), 1),)
    problem = street((parcel("s1", "h1", "h3"),), on_board=on_board)
    budget = PeerBudget(seed=1, iterations=10)

    with pytest.raises(UnsupportedByPeer, match="van1 already carries parcels"):
        pyvrp_model.solve(problem, list(problem.shipments), budget)
    with pytest.raises(UnsupportedByPeer, match="van1 already carries parcels"):
        vroom_model.solve(problem, list(problem.shipments), budget)


def _overloading_peer(
    problem: Problem, shipments: Sequence[Shipment], budget: PeerBudget
) -> PeerRoutes:
    # Loads every parcel before delivering any: one vehicle, too heavy.
    pickups = [(s.id, StopKind.PICKUP) for s in shipments]
    deliveries = [(s.id, StopKind.DELIVERY) for s in shipments]
    return {problem.vehicles[0].id: pickups + deliveries}


def test_a_peer_plan_the_validator_rejects_is_discarded() -> None:
    problem = street(
        (
            parcel("s1", "h1", "h5", load=6),
            parcel("s2", "h2", "h6", load=6),
        )
    )
    broken = Peer("broken", _overloading_peer)

    result = plan_routes_best(
        problem, seed=1, time_limit=None, peer_iterations=50, peers=(broken,)
    )

    assert result.engine == "ortools"
    assert validate(problem, result.plan) == []
    rejected = result.candidates[0]
    assert rejected.engine == "broken"
    assert rejected.plan is None
    assert "rejected by the validator" in rejected.note


def test_bench_prints_a_table_for_one_instance(
    capsys: pytest.CaptureFixture[str],
) -> None:
    arguments = ["--instances", "lc101", "--budgets", "0.2", "--seed", "2"]

    status = bench.main([*arguments, "--data", str(LI_LIM)])

    out = capsys.readouterr().out
    assert status == 0
    assert out.startswith("| instance | budget | BKS | portfolio")
    assert "| lc101 | 0.2 s | 10 / 828.94 |" in out
    assert "| **mean** | 0.2 s |" in out


def test_bench_names_the_missing_data_directory(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status = bench.main(["--instances", "lc101", "--data", str(tmp_path)])

    assert status == 2
    assert "no Li & Lim benchmark data" in capsys.readouterr().err


@dataclass(frozen=True)
class _VanWithTrailer(Vehicle):
    # Stands for any field the problem gains after the peers were written.
    trailer: str | None = None


def test_a_problem_field_the_peers_do_not_know_is_out_of_their_scope() -> None:
    problem = street((parcel("s1", "h1", "h3"),))
    van = _VanWithTrailer("van3", 10, 0, 1000, "depot", "main", trailer="T1")
    wider = dataclasses.replace(problem, vehicles=(*problem.vehicles, van))

    with pytest.raises(UnsupportedByPeer, match=r"_VanWithTrailer\.trailer is set"):
        check_in_scope(wider, "pyvrp")
    check_in_scope(problem, "pyvrp")


def test_a_refusal_survives_the_trip_back_from_a_worker_process() -> None:
    refusal = UnsupportedByPeer("vroom", "shipment s1 is locked to a vehicle")

    copy = pickle.loads(pickle.dumps(refusal))

    assert (copy.peer, copy.feature, str(copy)) == (
        "vroom",
        "shipment s1 is locked to a vehicle",
        str(refusal),
    )


def test_pyvrp_improves_a_plan_without_adding_a_vehicle(lilim_lc101: Problem) -> None:
    shipments = list(lilim_lc101.shipments)
    start = vroom_model.solve(lilim_lc101, shipments, PeerBudget(seed=1, iterations=1))
    used = sum(1 for visits in start.values() if visits)

    improved = pyvrp_model.improve(
        lilim_lc101, shipments, PeerBudget(seed=1, iterations=200), start
    )

    served = sum(len(visits) for visits in improved.values()) // 2
    assert served == len(shipments)
    assert sum(1 for visits in improved.values() if visits) <= used


def test_the_bench_names_the_budget_form_it_takes(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit):
        bench.main(["--budgets", "1", "x"])

    assert "--budgets takes seconds like 1 2 10" in capsys.readouterr().err
