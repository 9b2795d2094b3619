"""The Patroni fail-over drill: kill the leader, keep ordering, count what survived.

One drill: stand the lab up (:mod:`tests.availability.patroni_lab`), place
orders with the in-doubt writer (:mod:`controlroom.availability.drill`)
through the multi-host URL, kill the leader's Patroni (SIGKILL) and its
PostgreSQL (``pg_ctl stop -m immediate``), and keep placing orders until
writes resume. Every acknowledged key is then looked up on the new leader.

When the scenario restarts the killed node (as its service manager would),
a fence probe writes straight to it, bypassing the multi-host URL, from
the moment its Patroni starts until it streams from the new leader: an
old primary that acknowledged one of those writes would be a split brain.
With ``web_intake``, customers order through ``take_order`` every 100 ms
the whole time (:mod:`tests.availability.intake_drill`).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from controlroom.availability.drill import DrillWriter, stored_keys
from controlroom.availability.in_doubt import RetryPolicy
from controlroom.db import create_db_engine
from controlroom.schema import upgrade_database
from tests.availability.intake_drill import IntakeReport, WebIntake
from tests.availability.patroni_lab import Lab, LabError, Node, patroni_lab

Restart = Literal["never", "at_promotion", "after_writes"]


@dataclass(frozen=True)
class Scenario:
    """How the cluster runs and what happens to the killed node."""

    name: str
    nodes: int
    strict: bool
    restart: Restart
    web_intake: bool = False


SCENARIOS = {
    "two-non-strict": Scenario("two nodes, non-strict", 2, False, "never"),
    # With two nodes and strict mode the new leader acknowledges nothing
    # until the old node is back: restart it at once, as systemd would.
    "two-strict": Scenario(
        "two nodes, strict", 2, True, "at_promotion", web_intake=True
    ),
    "three-strict": Scenario(
        "three nodes, strict (shipped)", 3, True, "after_writes", web_intake=True
    ),
}


@dataclass(frozen=True)
class FenceReport:
    """What the restarted old node answered to writes sent straight to it."""

    acknowledged: tuple[str, ...]
    refused_read_only: int
    unreachable: int


@dataclass(frozen=True)
class DrillResult:
    """One drill's figures, times in seconds from the kill."""

    scenario: Scenario
    promoted_after: float | None
    first_ack_after: float | None
    rejoined_after: float | None
    acknowledged: int
    lost: tuple[str, ...]
    duplicates: int
    in_doubt: tuple[str, ...]
    fence: FenceReport | None
    stale_on_old_node: tuple[str, ...]
    intake: IntakeReport | None
    intake_first_ack_after: float | None


class FenceProbe(threading.Thread):
    """Writes to one node directly, every 0.1 s, and keeps every answer."""

    def __init__(self, url: str) -> None:
        super().__init__(daemon=True)
        self.writer = DrillWriter(url, timeout=0.5, policy=RetryPolicy(attempts=1))
        self.refused = 0
        self.unreachable = 0
        self.stop = threading.Event()

    def run(self) -> None:
        n = 0
        while not self.stop.is_set():
            try:
                if not self.writer.place(f"fence-{n}"):
                    self.unreachable += 1
            except DBAPIError as exc:
                state = str(getattr(exc.orig, "sqlstate", "") or "")
                if state == "25006":  # read_only_sql_transaction
                    self.refused += 1
                else:
                    self.unreachable += 1
            n += 1
            self.stop.wait(0.1)
        self.writer.close()

    def report(self) -> FenceReport:
        return FenceReport(
            tuple(self.writer.acknowledged), self.refused, self.unreachable
        )


class Watch(threading.Thread):
    """Polls Patroni every 0.1 s for the promotion; calls ``on_promotion`` once."""

    def __init__(
        self, lab: Lab, old: Node, killed: float, on_promotion: Callable[[], None]
    ) -> None:
        super().__init__(daemon=True)
        self.lab, self.old, self.killed = lab, old, killed
        self.on_promotion = on_promotion
        self.promoted: float | None = None
        self.new_leader: Node | None = None
        self.stop = threading.Event()

    def run(self) -> None:
        while self.new_leader is None and not self.stop.is_set():
            for node in self.lab.nodes:
                if node is not self.old and node.rest("/primary") == 200:
                    self.promoted = time.monotonic() - self.killed
                    self.new_leader = node
                    self.on_promotion()
                    return
            self.stop.wait(0.1)


def streams_from(lab: Lab, leader: Node, standby: Node) -> bool:
    """True once ``leader`` sees ``standby`` streaming WAL from it."""
    engine = create_db_engine(lab.url(leader, read_write=False))
    try:
        with engine.connect() as connection:
            state = connection.execute(
                text(
                    "SELECT state FROM pg_stat_replication "
                    "WHERE application_name = :name"
                ),
                {"name": standby.name},
            ).scalar()
    except DBAPIError:
        return False
    finally:
        engine.dispose()
    return state == "streaming"


def keep_writing(
    writer: DrillWriter, killed: float, orders: int, limit: float
) -> float | None:
    """Place orders until ``orders`` more are acknowledged; the first ack's time."""
    first_ack = None
    wanted = len(writer.acknowledged) + orders
    n = 0
    while time.monotonic() - killed < limit and len(writer.acknowledged) < wanted:
        writer.resubmit_in_doubt()
        if writer.place(f"after-{n}") and first_ack is None:
            first_ack = time.monotonic() - killed
        n += 1
        time.sleep(0.02)
    return first_ack


def run_drill(
    scenario: Scenario,
    *,
    orders: int = 20,
    limit: float = 120.0,
    intake_policy: RetryPolicy | None = None,
) -> DrillResult:
    """Run one drill in a fresh lab and return its figures."""
    with patroni_lab(nodes=scenario.nodes, strict=scenario.strict) as lab:
        old = lab.leader()
        writer = DrillWriter(lab.url(), timeout=0.5, policy=RetryPolicy(attempts=1))
        probe = FenceProbe(lab.url(old, read_write=False))
        intake = None
        try:
            writer.prepare()
            if scenario.web_intake:
                engine = create_db_engine(lab.url())
                upgrade_database(engine)
                intake = WebIntake(engine, lab.folder / "spool", policy=intake_policy)
                intake.start()
            return _drill(lab, scenario, writer, probe, intake, orders, limit)
        finally:
            # Also when the drill fails: no thread may outlive the lab.
            if intake is not None:
                intake.stop()
                intake.engine.dispose()
            probe.stop.set()
            if probe.is_alive():
                probe.join()
            writer.close()


def _drill(
    lab: Lab,
    scenario: Scenario,
    writer: DrillWriter,
    probe: FenceProbe,
    intake: WebIntake | None,
    orders: int,
    limit: float,
) -> DrillResult:
    old = lab.leader()
    for n in range(orders):
        writer.place(f"before-{n}")
    restarted: list[float] = []

    def restart_old() -> None:
        probe.start()
        lab.start(old)
        restarted.append(time.monotonic())

    killed = lab.crash(old)
    on_promotion = restart_old if scenario.restart == "at_promotion" else _nothing
    watch = Watch(lab, old, killed, on_promotion)
    watch.start()
    try:
        first_ack = keep_writing(writer, killed, orders, limit)
    finally:
        watch.stop.set()
        watch.join()
    leader = watch.new_leader
    if leader is None:
        raise LabError(f"no node was promoted within {limit:.0f} s of the kill")

    rejoined = None
    if scenario.restart == "after_writes":
        restart_old()
    if restarted:
        remaining = max(1.0, limit - (time.monotonic() - killed))
        lab.wait_for(lambda: streams_from(lab, leader, old), remaining, "rejoin")
        rejoined = time.monotonic() - killed
        time.sleep(1.0)  # the probe keeps writing a moment after the rejoin
        probe.stop.set()
        probe.join()

    intake_report = None
    if intake is not None:
        intake.stop()
        intake_report = intake.merge_and_check()
    writer.resubmit_in_doubt()

    on_leader = stored_keys(lab.url(leader, read_write=False))
    stale: tuple[str, ...] = ()
    if restarted:
        on_old = stored_keys(lab.url(old, read_write=False))
        stale = tuple(sorted(set(on_old) - set(on_leader)))
    return DrillResult(
        scenario=scenario,
        promoted_after=watch.promoted,
        first_ack_after=first_ack,
        rejoined_after=rejoined,
        acknowledged=len(writer.acknowledged),
        lost=tuple(sorted(set(writer.acknowledged) - set(on_leader))),
        duplicates=len(on_leader) - len(set(on_leader)),
        in_doubt=tuple(writer.in_doubt),
        fence=probe.report() if restarted else None,
        stale_on_old_node=stale,
        intake=intake_report,
        intake_first_ack_after=(
            None
            if intake_report is None
            else intake_report.first_accepted_after(killed)
        ),
    )


def _nothing() -> None:
    return None
