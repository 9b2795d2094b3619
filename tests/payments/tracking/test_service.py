"""The tracker follows a trusted node, fails over, unwinds reorgs, misses nothing."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from controlroom.errors import PaymentError
from controlroom.health.models import ComponentState
from controlroom.health.service import current_posture, get_component
from controlroom.journal import JournalEvent
from controlroom.payments import service as payments_service
from controlroom.payments.models import Payment
from controlroom.payments.tracking.models import (
    TrackedBlock,
    TrackerFailover,
    TrackerProgress,
)
from controlroom.payments.tracking.service import TRACKER_KEY, track_once
from controlroom.payments.tracking.trust import Distrust
from tests.conftest import DAY
from tests.payments.tracking.conftest import Lab, open_invoices

NOW = DAY + timedelta(hours=1)
LATER = DAY + timedelta(hours=3)


def start(session: Session, lab: Lab) -> None:
    """Track the lab chain from block 1, following the first node."""
    report = track_once(
        session, nodes=lab.nodes, now=NOW, actor="tracker", start_height=1
    )
    assert (report.followed, report.height) == ("node-eu", 5)


def pay_one_per_block(lab: Lab, addresses: list[str], amount_sat: int) -> list[str]:
    """Pay each address in a block of its own; return the txids."""
    txids = []
    for address in addresses:
        txids.append(lab.chain.pay([(address, amount_sat)]))
        lab.chain.mine()
    return txids


def seen_txids(session: Session) -> list[str | None]:
    return list(session.scalars(select(Payment.txid).order_by(Payment.id)))


def journal_kinds(session: Session) -> list[str]:
    return list(session.scalars(select(JournalEvent.kind).order_by(JournalEvent.seq)))


def test_a_stuck_node_is_left_and_tracking_resumes_without_missing_a_payment(
    session: Session, lab: Lab
) -> None:
    invoices = open_invoices(session, 6, amount_sat=50_000)
    start(session, lab)
    lab.node("node-eu").stuck_at = 5
    txids = pay_one_per_block(lab, [i.address or "" for i in invoices], 50_000)

    report = track_once(session, nodes=lab.nodes, now=LATER, actor="tracker")

    stuck = report.judgement.verdict("node-eu")
    assert (stuck.trusted, stuck.problem) == (False, Distrust.LAGGING)
    assert (report.followed, report.height, report.blocks_processed) == (
        "node-us",
        11,
        6,
    )
    assert lab.node("node-us").blocks_served == [6, 7, 8, 9, 10, 11]
    assert seen_txids(session) == txids
    heights = session.scalars(select(Payment.block_height).order_by(Payment.id))
    assert list(heights) == list(range(6, 12))
    failover = session.scalars(select(TrackerFailover)).one()
    assert (failover.from_node, failover.to_node) == ("node-eu", "node-us")
    assert "lags the best tip by 6 blocks" in failover.reason
    assert "PaymentTrackingFailedOver" in journal_kinds(session)
    component = get_component(session, key="node-eu")
    assert component.state is ComponentState.PARTIAL_OUTAGE


def test_a_node_going_down_mid_scan_hands_over_at_the_block_it_missed(
    session: Session, lab: Lab
) -> None:
    invoices = open_invoices(session, 6, amount_sat=50_000)
    start(session, lab)
    txids = pay_one_per_block(lab, [i.address or "" for i in invoices], 50_000)
    lab.node("node-eu").down_from = 8

    report = track_once(session, nodes=lab.nodes, now=LATER, actor="tracker")

    assert (report.followed, report.height) == ("node-us", 11)
    assert lab.node("node-eu").blocks_served[-2:] == [6, 7]
    assert lab.node("node-us").blocks_served == [8, 9, 10, 11]
    assert seen_txids(session) == txids
    failover = session.scalars(select(TrackerFailover)).one()
    assert "failed while tracking" in failover.reason
    assert get_component(session, key="node-eu").state is ComponentState.MAJOR_OUTAGE


def test_a_node_serving_a_tampered_block_is_distrusted_and_left(
    session: Session, lab: Lab
) -> None:
    invoices = open_invoices(session, 2, amount_sat=70_000)
    start(session, lab)
    txids = pay_one_per_block(lab, [i.address or "" for i in invoices], 70_000)
    lab.node("node-eu").lie = True

    report = track_once(session, nodes=lab.nodes, now=LATER, actor="tracker")

    assert (report.followed, report.height) == ("node-us", 7)
    assert seen_txids(session) == txids
    failover = session.scalars(select(TrackerFailover)).one()
    assert failover.to_node == "node-us"
    eu = get_component(session, key="node-eu")
    assert eu.state is ComponentState.PARTIAL_OUTAGE
    assert "merkle" in eu.note.lower()


def test_a_reorg_of_two_blocks_moves_payments_to_the_new_chain(
    session: Session, lab: Lab
) -> None:
    invoices = open_invoices(session, 2, amount_sat=60_000)
    start(session, lab)
    lab.chain.mine(4)
    txids = pay_one_per_block(lab, [i.address or "" for i in invoices], 60_000)
    track_once(session, nodes=lab.nodes, now=NOW, actor="tracker")
    old_blocks = [lab.chain.block_hash(h) for h in (10, 11)]

    fork = lab.chain.fork(9)
    new_blocks = fork.mine(3)
    for node in lab.nodes:
        node.chain = fork
    report = track_once(session, nodes=lab.nodes, now=LATER, actor="tracker")

    assert (report.reorganised_blocks, report.height) == (2, 12)
    orphaned = session.scalars(
        select(TrackedBlock.block_hash).where(TrackedBlock.active.is_(False))
    ).all()
    assert sorted(orphaned) == sorted(old_blocks)
    assert "PaymentChainReorganised" in journal_kinds(session)
    assert seen_txids(session) == txids
    reorged = session.scalars(
        select(JournalEvent.payload).where(JournalEvent.kind == "PaymentReorged")
    ).all()
    assert sorted(json.loads(p)["block_hash"] for p in reorged) == sorted(old_blocks)
    mined = session.execute(
        select(Payment.block_height, Payment.block_hash, Payment.confirmations)
    ).all()
    assert mined == [(10, new_blocks[0], 3), (10, new_blocks[0], 3)]


def test_a_node_on_another_chain_is_not_followed(session: Session, lab: Lab) -> None:
    start(session, lab)
    lab.chain.mine(4)
    other = lab.chain.fork(7)
    other.mine(2)
    lab.node("node-eu").chain = other

    report = track_once(session, nodes=lab.nodes, now=LATER, actor="tracker")

    verdict = report.judgement.verdict("node-eu")
    assert (verdict.trusted, verdict.problem) == (False, Distrust.OTHER_CHAIN)
    assert (report.followed, report.height) == ("node-us", 9)
    assert report.reorganised_blocks == 0


def test_with_every_node_down_the_tracker_stops_and_the_static_wallets_take_over(
    session: Session, lab: Lab
) -> None:
    start(session, lab)
    lab.chain.mine(2)
    for node in lab.nodes:
        node.down = True

    report = track_once(session, nodes=lab.nodes, now=LATER, actor="tracker")

    assert not report.tracking
    assert report.blocks_processed == 0
    assert report.stopped_because.startswith("No payment node is trusted")
    assert session.get_one(TrackerProgress, 1).height == 5
    tracker = get_component(session, key=TRACKER_KEY)
    assert tracker.state is ComponentState.MAJOR_OUTAGE
    fallbacks = [f.key for f in current_posture(session).fallbacks]
    assert fallbacks == ["static_wallets"]


def test_tracking_resumes_on_the_same_node_when_it_comes_back(
    session: Session, lab: Lab
) -> None:
    start(session, lab)
    for node in lab.nodes:
        node.down = True
    track_once(session, nodes=lab.nodes, now=NOW, actor="tracker")
    for node in lab.nodes:
        node.down = False
    lab.chain.mine(1)

    report = track_once(session, nodes=lab.nodes, now=LATER, actor="tracker")

    assert (report.followed, report.height) == ("node-eu", 6)
    log = session.scalars(select(TrackerFailover).order_by(TrackerFailover.id))
    assert [(f.from_node, f.to_node) for f in log] == [
        ("node-eu", None),
        (None, "node-eu"),
    ]
    tracker = get_component(session, key=TRACKER_KEY)
    assert tracker.state is ComponentState.OPERATIONAL


def test_a_payment_waiting_in_the_mempool_is_seen_before_its_block(
    session: Session, lab: Lab
) -> None:
    (invoice,) = open_invoices(session, 1, amount_sat=40_000)
    start(session, lab)
    txid = lab.chain.pay([(invoice.address or "", 40_000)], rbf=True)

    report = track_once(session, nodes=lab.nodes, now=LATER, actor="tracker")

    assert report.payments_seen == 1
    assert seen_txids(session) == [txid]
    assert session.scalars(select(Payment.block_hash)).all() == [None]


def test_the_stuck_node_scenario_holds_on_every_database(
    any_engine: Engine, lab: Lab
) -> None:
    with Session(any_engine) as session, session.begin():
        invoices = open_invoices(session, 3, amount_sat=50_000)
        addresses = [i.address or "" for i in invoices]
        start(session, lab)
    lab.node("node-eu").stuck_at = 5
    txids = pay_one_per_block(lab, addresses, 50_000)

    with Session(any_engine) as session, session.begin():
        report = track_once(session, nodes=lab.nodes, now=LATER, actor="tracker")

    assert (report.followed, report.height) == ("node-us", 8)
    with Session(any_engine) as session:
        assert seen_txids(session) == txids
        progress = session.get_one(TrackerProgress, 1)
        assert (progress.height, progress.node_key) == (8, "node-us")


def test_a_block_that_fails_to_apply_leaves_no_trace_of_itself(
    session: Session, lab: Lab, monkeypatch: pytest.MonkeyPatch
) -> None:
    invoices = open_invoices(session, 3, amount_sat=50_000)
    start(session, lab)
    txids = pay_one_per_block(lab, [i.address or "" for i in invoices], 50_000)
    confirm = payments_service.confirm_in_block

    def fail_on_block_8(session: Session, **kwargs: Any) -> list[Payment]:
        if kwargs["block_height"] == 8:
            raise PaymentError("The invoice store refused block 8.")
        return confirm(session, **kwargs)

    monkeypatch.setattr(payments_service, "confirm_in_block", fail_on_block_8)

    with pytest.raises(PaymentError, match="refused block 8"):
        track_once(session, nodes=lab.nodes, now=LATER, actor="tracker")

    assert session.get_one(TrackerProgress, 1).height == 7
    heights = session.scalars(select(TrackedBlock.height).order_by(TrackedBlock.id))
    assert list(heights) == [0, 1, 2, 3, 4, 5, 6, 7]
    assert seen_txids(session) == txids[:2]
