"""The fail-over drill on real PostgreSQL 15: no acknowledged order is lost.

A writer places orders with idempotency keys through the multi-host URL and
keeps every key it was told is stored. The standby is cut off (stopped), the
writer keeps going, the primary is killed, the standby promoted; every
acknowledged key must then be on the new primary. With asynchronous
replication the same drill loses orders, which shows the check can fail.
"""

from __future__ import annotations

import pytest

from controlroom.availability.drill import DrillWriter, stored_keys
from tests.availability.clusters import Pair, wait_until_caught_up

pytestmark = pytest.mark.postgres


def fail_over_during_a_cut_off(pair: Pair) -> tuple[DrillWriter, dict[str, bool]]:
    """Run the drill; return the writer and what each cut-off write was told."""
    writer = DrillWriter(pair.multi_host_url, timeout=0.3)
    writer.prepare()
    for n in range(20):
        assert writer.place(f"before-{n}")
    wait_until_caught_up(pair.primary)

    pair.standby.stop()
    told = {key: writer.place(key) for key in ("cut-off-0", "cut-off-1")}
    pair.primary.stop("immediate")
    pair.standby.start()
    pair.standby.promote()
    # The promoted standby inherited "wait for node_b", itself: until the
    # old primary rejoins, it runs alone (RUNBOOK.md, fail-over step 4).
    pair.standby.settings(synchronous_standby_names="")

    writer.resubmit_in_doubt()
    for n in range(5):
        assert writer.place(f"after-{n}")
    writer.close()
    return writer, told


def test_synchronous_replication_loses_no_acknowledged_order(sync_pair: Pair) -> None:
    writer, told = fail_over_during_a_cut_off(sync_pair)

    on_new_primary = stored_keys(sync_pair.standby.url)

    assert told == {"cut-off-0": False, "cut-off-1": False}
    assert set(writer.acknowledged) <= set(on_new_primary)
    assert writer.in_doubt == []
    assert sorted(on_new_primary) == sorted(writer.acknowledged)
    assert len(on_new_primary) == 27


def test_asynchronous_replication_loses_acknowledged_orders(async_pair: Pair) -> None:
    writer, told = fail_over_during_a_cut_off(async_pair)

    on_new_primary = set(stored_keys(async_pair.standby.url))
    lost = set(writer.acknowledged) - on_new_primary

    assert told == {"cut-off-0": True, "cut-off-1": True}
    assert lost == {"cut-off-0", "cut-off-1"}
