"""The tracker through the real adapters, against lab servers on 127.0.0.1.

Two Bitcoin Core JSON-RPC nodes and one Esplora node serve the same regtest
chain; their faults are switched on the servers, so every answer crosses
HTTP and the adapters as it would in production.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from controlroom.payments.lab.faults import Lie
from controlroom.payments.lab.regtest import LabChain
from controlroom.payments.models import Payment
from controlroom.payments.tracking.lab_nodes import LabNodeSet
from controlroom.payments.tracking.models import TrackerFailover
from controlroom.payments.tracking.service import track_once
from controlroom.payments.tracking.trust import Distrust
from tests.conftest import DAY
from tests.payments.tracking.conftest import open_invoices

NOW = DAY + timedelta(hours=1)
LATER = DAY + timedelta(hours=3)


@pytest.fixture
def lab_chain() -> LabChain:
    """A regtest chain of five blocks."""
    chain = LabChain(start=DAY)
    chain.mine(5)
    return chain


@pytest.fixture
def wire(lab_chain: LabChain) -> Iterator[LabNodeSet]:
    """The demo's three nodes as lab servers on the lab chain."""
    with LabNodeSet(lab_chain) as lab:
        yield lab


def pay_one_per_block(chain: LabChain, addresses: list[str]) -> list[str]:
    txids = []
    for address in addresses:
        txids.append(chain.pay([(address, 50_000)]))
        chain.mine()
    return txids


def test_a_core_node_stuck_six_blocks_behind_is_left_and_no_payment_is_missed(
    session: Session, lab_chain: LabChain, wire: LabNodeSet
) -> None:
    invoices = open_invoices(session, 6, amount_sat=50_000)
    first = track_once(
        session, nodes=wire.nodes, now=NOW, actor="tracker", start_height=1
    )
    wire.servers["node-eu-north"].faults.lag_height = 5
    txids = pay_one_per_block(lab_chain, [i.address or "" for i in invoices])

    report = track_once(session, nodes=wire.nodes, now=LATER, actor="tracker")

    assert (first.followed, first.height) == ("node-eu-north", 5)
    stuck = report.judgement.verdict("node-eu-north")
    assert (stuck.trusted, stuck.problem) == (False, Distrust.LAGGING)
    assert (report.followed, report.height, report.blocks_processed) == (
        "node-us-east",
        11,
        6,
    )
    seen = session.execute(
        select(Payment.txid, Payment.block_height).order_by(Payment.id)
    ).all()
    assert seen == list(zip(txids, range(6, 12), strict=True))
    failover = session.scalars(select(TrackerFailover)).one()
    assert (failover.from_node, failover.to_node) == ("node-eu-north", "node-us-east")


def test_a_lying_core_node_and_a_dead_one_leave_tracking_on_esplora(
    session: Session, lab_chain: LabChain, wire: LabNodeSet
) -> None:
    invoices = open_invoices(session, 2, amount_sat=50_000)
    track_once(session, nodes=wire.nodes, now=NOW, actor="tracker", start_height=1)
    txids = pay_one_per_block(lab_chain, [i.address or "" for i in invoices])
    wire.servers["node-eu-north"].faults.lie = Lie.FLIPPED_BYTE
    wire.servers["node-us-east"].faults.down = True

    report = track_once(session, nodes=wire.nodes, now=LATER, actor="tracker")

    assert (report.followed, report.height) == ("node-ap-southeast", 7)
    assert session.scalars(select(Payment.txid).order_by(Payment.id)).all() == txids
    log = session.scalars(select(TrackerFailover).order_by(TrackerFailover.id))
    assert [(f.from_node, f.to_node) for f in log] == [
        ("node-eu-north", "node-ap-southeast")
    ]
    assert report.judgement.verdict("node-us-east").problem is Distrust.DOWN
