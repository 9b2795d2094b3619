"""The Patroni drill on the shipped three-node cluster: a lost leader costs nothing.

One drill (``tests/availability/patroni_drills.py``, the benchmark runs the
same code) stands up etcd and three Patroni nodes from ``deploy/patroni``,
kills the leader while the in-doubt writer and web customers keep ordering,
and restarts the killed node once writes have resumed. The tests read its
outcome; how fast it went is the benchmark's business
(``benchmarks/patroni_drill.py``, figures in ``BENCHMARKS.md``).
"""

from __future__ import annotations

import pytest

from tests.availability.patroni_drills import SCENARIOS, DrillResult, run_drill
from tests.availability.patroni_lab import missing_tools
from tests.conftest import REQUIRE_POSTGRES

pytestmark = pytest.mark.postgres

ORDERS = 10


@pytest.fixture(scope="module")
def shipped_cluster_drill() -> DrillResult:
    """The drill on three nodes, strict, with web intake; run once per module."""
    missing = missing_tools()
    if missing:
        reason = (
            f"the Patroni drill needs {', '.join(missing)}; install with "
            "apt-get install -y patroni python3-etcd etcd-server postgresql-15"
        )
        if REQUIRE_POSTGRES:
            pytest.fail(f"CONTROLROOM_REQUIRE_POSTGRES=1 but {reason}")
        pytest.skip(reason)
    return run_drill(SCENARIOS["three-strict"], orders=ORDERS, limit=80)


def test_writes_resume_on_the_new_leader_and_no_acknowledged_order_is_lost(
    shipped_cluster_drill: DrillResult,
) -> None:
    drill = shipped_cluster_drill

    assert drill.promoted_after is not None
    assert drill.acknowledged >= 2 * ORDERS  # at least as many after the kill
    assert drill.lost == ()
    assert drill.duplicates == 0
    assert drill.in_doubt == ()


def test_the_old_primary_acknowledges_nothing_after_its_restart(
    shipped_cluster_drill: DrillResult,
) -> None:
    fence = shipped_cluster_drill.fence

    assert fence is not None
    assert fence.acknowledged == ()
    # It was up and said no, not merely away.
    assert fence.refused_read_only > 0
    assert shipped_cluster_drill.stale_on_old_node == ()


def test_every_web_customer_gets_an_answer_across_the_fail_over(
    shipped_cluster_drill: DrillResult,
) -> None:
    intake = shipped_cluster_drill.intake

    assert intake is not None
    assert [a.error for a in intake.answers if a.how == "error"] == []
    # The outage was seen (orders spooled) and survived (orders taken after).
    assert intake.count("accepted_pending") > 0
    assert shipped_cluster_drill.intake_first_ack_after is not None


def test_every_answered_web_order_is_in_the_primary_once_after_merge_back(
    shipped_cluster_drill: DrillResult,
) -> None:
    intake = shipped_cluster_drill.intake

    assert intake is not None
    assert intake.merged > 0
    assert intake.missing == ()
    assert intake.duplicated == ()
    assert intake.wrong_code == ()
