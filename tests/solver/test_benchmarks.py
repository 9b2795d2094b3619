"""Reading the Li & Lim and Solomon benchmarks and their best-known routes."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from solver import (
    BestKnownSolution,
    InstanceFormatError,
    PdptwInstance,
    VrptwInstance,
    best_known_file,
    read_best_known,
    read_pdptw,
    read_vrptw,
    route_schedule,
    solution_distance,
)
from tests.conftest import SHARED_DATA

LI_LIM = SHARED_DATA / "benchmarks" / "li_lim_100"
SOLOMON = SHARED_DATA / "benchmarks" / "solomon_100"


@pytest.fixture(scope="module")
def lilim_lc101() -> PdptwInstance:
    return read_pdptw(LI_LIM / "lc101.txt")


@pytest.fixture(scope="module")
def lilim_lc101_bks() -> BestKnownSolution:
    return read_best_known(best_known_file(LI_LIM / "bks_solutions", "lc101"))


@pytest.fixture(scope="module")
def solomon_c101() -> VrptwInstance:
    return read_vrptw(SOLOMON / "c101.txt")


def _bks_distance(instance: str) -> float:
    with (LI_LIM / "bks.csv").open(newline="") as table:
        rows = {row["instance"]: row for row in csv.DictReader(table)}
    return float(rows[instance]["distance"])


def test_lc101_has_53_pairs_and_capacity_200(lilim_lc101: PdptwInstance) -> None:
    pairs = lilim_lc101.pairs()

    assert len(pairs) == 53
    assert lilim_lc101.capacity == 200
    assert lilim_lc101.vehicle_count == 25
    assert lilim_lc101.horizon == 1236
    assert all(p.delivery_id == d.id and d.pickup_id == p.id for p, d in pairs)
    assert all(p.demand == -d.demand > 0 for p, d in pairs)


def test_lc101_depot_is_task_zero(lilim_lc101: PdptwInstance) -> None:
    depot = lilim_lc101.task(0)

    assert (depot.x, depot.y, depot.demand) == (40, 50, 0)
    assert depot not in lilim_lc101.tasks


def test_lc101_best_known_routes_cover_every_task_once(
    lilim_lc101: PdptwInstance, lilim_lc101_bks: BestKnownSolution
) -> None:
    covered = lilim_lc101_bks.covered()

    assert len(lilim_lc101_bks.routes) == 10
    assert sorted(covered) == sorted(task.id for task in lilim_lc101.tasks)


def test_lc101_best_known_distance_matches_the_table(
    lilim_lc101: PdptwInstance, lilim_lc101_bks: BestKnownSolution
) -> None:
    distance = solution_distance(lilim_lc101, lilim_lc101_bks)

    assert distance == pytest.approx(_bks_distance("lc101"), abs=0.01)
    assert distance == pytest.approx(828.94, abs=0.01)


def test_lc101_best_known_schedule_keeps_windows_and_capacity(
    lilim_lc101: PdptwInstance, lilim_lc101_bks: BestKnownSolution
) -> None:
    visits = [v for r in lilim_lc101_bks.routes for v in route_schedule(lilim_lc101, r)]

    assert all(v.start <= lilim_lc101.task(v.task_id).due + 1e-9 for v in visits)
    assert all(0 <= v.load <= lilim_lc101.capacity for v in visits)


def test_every_shipped_li_lim_instance_and_route_file_reads() -> None:
    instances = [read_pdptw(path) for path in sorted(LI_LIM.glob("*.txt"))]
    solutions = [read_best_known(p) for p in (LI_LIM / "bks_solutions").glob("*.txt")]

    assert len(instances) == 56
    assert len(solutions) == 56
    assert all(50 <= len(i.pairs()) <= 55 for i in instances)


def test_c101_has_100_customers_and_capacity_200(solomon_c101: VrptwInstance) -> None:
    assert solomon_c101.name == "c101"
    assert solomon_c101.vehicle_count == 25
    assert solomon_c101.capacity == 200
    assert len(solomon_c101.customers) == 100
    assert solomon_c101.horizon == 1236


def test_a_task_line_with_a_word_names_file_and_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.txt"
    bad.write_text("25\t200\t1\r\n0\t40\t50\t0\t0\t1236\t0\t0\t0\r\n1\tx\t1\r\n")

    with pytest.raises(InstanceFormatError, match=r"bad\.txt, line 3: expected"):
        read_pdptw(bad)


def test_a_task_line_with_too_few_numbers_is_refused(tmp_path: Path) -> None:
    bad = tmp_path / "short.txt"
    bad.write_text("25 200 1\n0 40 50 0 0 1236 0 0 0\n1 45 68 10 0 100 90 0\n")

    with pytest.raises(InstanceFormatError, match="line 3: expected 9 numbers"):
        read_pdptw(bad)


def test_a_pickup_whose_delivery_is_missing_is_refused(tmp_path: Path) -> None:
    bad = tmp_path / "orphan.txt"
    bad.write_text("25 200 1\n0 40 50 0 0 1236 0 0 0\n1 45 68 10 0 100 90 0 2\n")

    with pytest.raises(InstanceFormatError, match="line 3: pickup 1 names delivery 2"):
        read_pdptw(bad)


def test_a_file_without_the_depot_first_is_refused(tmp_path: Path) -> None:
    bad = tmp_path / "nodepot.txt"
    bad.write_text("25 200 1\n1 45 68 10 0 100 90 0 2\n2 45 68 -10 0 100 90 1 0\n")

    with pytest.raises(InstanceFormatError, match="line 2: the first task must be"):
        read_pdptw(bad)


def test_a_missing_instance_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(InstanceFormatError, match=r"nothere\.txt: no such file"):
        read_pdptw(tmp_path / "nothere.txt")


def test_a_route_file_without_routes_is_refused(tmp_path: Path) -> None:
    bad = tmp_path / "lc101.10_1.txt"
    bad.write_text("Instance name : lc101\nSolution\n")

    with pytest.raises(InstanceFormatError, match="lists no route"):
        read_best_known(bad)


def test_a_route_line_with_a_word_is_refused(tmp_path: Path) -> None:
    bad = tmp_path / "lc101.10_1.txt"
    bad.write_text("Solution\nRoute 1 : 3 4 five\n")

    with pytest.raises(InstanceFormatError, match="line 2: expected whitespace"):
        read_best_known(bad)


def test_a_solomon_file_without_a_vehicle_block_is_refused(tmp_path: Path) -> None:
    bad = tmp_path / "c999.txt"
    bad.write_text("C999\nCUSTOMER\nCUST NO.\n0 40 50 0 0 1236 0\n")

    with pytest.raises(InstanceFormatError, match="VEHICLE block"):
        read_vrptw(bad)
