"""The Patroni fail-over drill: kill the leader, time the first acknowledged order.

Run from the repository root, as root (PostgreSQL and Patroni run as the
``postgres`` user), with Patroni, etcd and PostgreSQL 15 installed
(``apt-get install -y patroni python3-etcd etcd-server``; this script
installs nothing)::

    .venv/bin/python benchmarks/patroni_drill.py [--scenario all] [--old-intake]

Each scenario starts, on 127.0.0.1 in a temporary folder, one etcd and two
or three Patroni nodes built from ``deploy/patroni`` (only ports, folders
and the strict flag changed), places orders through the multi-host URL
with the in-doubt writer, kills the leader's Patroni and PostgreSQL and
keeps placing orders (``tests/availability/patroni_drills.py`` has the
steps; the drill test runs the same code):

* ``two-non-strict``: two nodes, ``synchronous_mode_strict: false``; the
  new leader acknowledges alone once promoted.
* ``two-strict``: two nodes, strict; the new leader has no standby left, so
  writes wait until the killed node, restarted at the promotion, rejoins.
* ``three-strict``: the shipped configuration, three nodes, strict, one
  synchronous standby; the killed node is restarted after writes resumed.

In both strict scenarios web customers also order through ``take_order``
every 100 ms throughout, with a spool in the lab's folder that is merged
back at the end. Times are from the kill. ``--old-intake`` runs those
scenarios again with the intake as it was before its transactions were
bounded (three attempts, COMMIT waiting as long as the server makes it, no
hold-off after a write in doubt).
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.orm import Session

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import controlroom.fallback_orders.intake as intake
from controlroom.availability.in_doubt import RetryPolicy
from tests.availability.intake_drill import IntakeReport
from tests.availability.patroni_drills import (
    SCENARIOS,
    DrillResult,
    run_drill,
)
from tests.availability.patroni_lab import LabError, missing_tools


@contextmanager
def intake_before_tuning() -> Iterator[None]:
    """Run ``take_order`` as it was: three attempts, unbounded, no hold-off."""

    @contextmanager
    def plain_transaction(engine: Engine) -> Iterator[Session]:
        with Session(engine) as session, session.begin():
            yield session

    saved = intake.INTAKE_POLICY, intake._transaction, intake.PRIMARY_HOLD_OFF
    intake.INTAKE_POLICY = RetryPolicy(attempts=3, first_delay=0.05, max_delay=0.5)
    intake._transaction = plain_transaction
    intake.PRIMARY_HOLD_OFF = 0.0
    try:
        yield
    finally:
        intake.INTAKE_POLICY, intake._transaction, intake.PRIMARY_HOLD_OFF = saved


def seconds(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f} s"


def fenced(result: DrillResult) -> str:
    fence = result.fence
    if fence is None:
        return "—"
    return f"{len(fence.acknowledged)} ({fence.refused_read_only} refused read-only)"


def print_drills(results: list[tuple[str, DrillResult]]) -> None:
    print(
        "| scenario | writer | kill → promoted | kill → first ack "
        "| kill → old node rejoined | acked | lost | duplicated "
        "| old primary acked |"
    )
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|")
    for label, result in results:
        print(
            f"| {label} | drill writer | {seconds(result.promoted_after)} "
            f"| {seconds(result.first_ack_after)} "
            f"| {seconds(result.rejoined_after)} | {result.acknowledged} "
            f"| {len(result.lost)} | {result.duplicates} | {fenced(result)} |"
        )
        if result.intake is not None:
            intake = result.intake
            answered = len(intake.answers) - intake.count("error")
            print(
                f"| {label} | web intake | {seconds(result.promoted_after)} "
                f"| {seconds(result.intake_first_ack_after)} "
                f"| {seconds(result.rejoined_after)} | {answered} "
                f"| {len(intake.missing)} | {len(intake.duplicated)} | |"
            )


def print_intake(results: list[tuple[str, IntakeReport]]) -> None:
    print()
    print(
        "| web intake | orders | errors | accepted | pending | longest answer "
        "| longest gap between answers | missing after merge | duplicated "
        "| wrong code |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for label, report in results:
        print(
            f"| {label} | {len(report.answers)} | {report.count('error')} "
            f"| {report.count('accepted')} | {report.count('accepted_pending')} "
            f"| {seconds(report.longest_latency)} | {seconds(report.longest_gap)} "
            f"| {len(report.missing)} | {len(report.duplicated)} "
            f"| {len(report.wrong_code)} |"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=20)
    parser.add_argument("--limit", type=float, default=120.0)
    parser.add_argument(
        "--scenario", choices=[*SCENARIOS, "all"], nargs="*", default=["all"]
    )
    parser.add_argument("--old-intake", action="store_true")
    args = parser.parse_args()
    # Every in-doubt attempt logs a warning; the tables say what matters.
    logging.basicConfig(level=logging.ERROR)

    missing = missing_tools()
    if missing:
        raise SystemExit(
            f"missing: {', '.join(missing)}; install with "
            "apt-get install -y patroni python3-etcd etcd-server postgresql-15"
        )

    if args.orders < 1 or args.limit <= 0:
        parser.error("--orders and --limit must be positive")
    chosen = [s for s in args.scenario if s != "all"] or list(SCENARIOS)
    try:
        results = [
            (
                SCENARIOS[name].name,
                run_drill(SCENARIOS[name], orders=args.orders, limit=args.limit),
            )
            for name in chosen
        ]
        for name in chosen if args.old_intake else []:
            if not SCENARIOS[name].web_intake:
                continue
            with intake_before_tuning():
                old = run_drill(SCENARIOS[name], orders=args.orders, limit=args.limit)
            results.append((f"{SCENARIOS[name].name}; intake before tuning", old))
    except LabError as exc:
        raise SystemExit(f"the drill failed: {exc}") from None

    print_drills(results)
    intakes = [(label, r.intake) for label, r in results if r.intake is not None]
    if intakes:
        print_intake(intakes)


if __name__ == "__main__":
    with suppress(KeyboardInterrupt):
        main()
