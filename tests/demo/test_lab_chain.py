"""The demo day pays on a lab regtest chain and the payment tracker follows it."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from controlroom.demo.chain import DemoChain, invoice_addresses
from controlroom.demo.day import OSLO
from controlroom.demo.parameters import DemoWorld, build_world, load_world
from controlroom.demo.play import TRACKER
from controlroom.demo.wallet import receive_address
from controlroom.journal.models import JournalEvent
from controlroom.payments.addresses import Network
from controlroom.payments.blocks import parse_block
from controlroom.payments.models import (
    Invoice,
    InvoiceStatus,
    Payment,
    PaymentMethod,
)
from controlroom.payments.tracking.models import TrackedBlock, TrackerFailover
from controlroom.payments.wallet_watch.models import IssuedAddress
from tests.demo.conftest import DEMO_DAY, PlayedDay


def _oslo(hour: int, minute: int) -> datetime:
    return datetime(2026, 12, 4, hour, minute, tzinfo=OSLO)


def _world() -> DemoWorld:
    return build_world(
        instance="lc101", seed=7, day=DEMO_DAY, senders={}, recipients={}, vehicles=()
    )


def _main_addresses(world: DemoWorld) -> dict[int, str | None]:
    return {
        task: receive_address(world.account_key, index)
        for task, index in world.address_index.items()
    }


def test_the_chain_is_the_same_whether_built_in_one_go_or_minute_by_minute() -> None:
    world = _world()
    addresses = _main_addresses(world)
    in_one_go, in_steps = DemoChain(world), DemoChain(world)

    in_one_go.advance_to(_oslo(12, 0), addresses.get)
    moment = world.plan.sim_start
    while moment < _oslo(12, 0):
        moment = min(moment + (_oslo(6, 31) - _oslo(6, 30)), _oslo(12, 0))
        in_steps.advance_to(moment, addresses.get)

    assert in_one_go.played_to == in_steps.played_to
    assert in_one_go.chain.height > 20
    assert in_one_go.chain.tip_hash == in_steps.chain.tip_hash
    assert in_one_go.chain.mempool_txids() == in_steps.chain.mempool_txids()


def test_the_lab_chain_mines_at_the_day_plans_block_times() -> None:
    world = _world()
    built = DemoChain(world)

    built.advance_to(_oslo(8, 0), _main_addresses(world).get)
    chain = built.chain
    stamps = [
        parse_block(chain.raw_block(chain.block_hash(h)), network=Network.REGTEST).time
        for h in range(1, chain.height + 1)
    ]

    expected = [b.replace(microsecond=0) for b in world.plan.blocks]
    assert stamps == expected[: chain.height]
    assert world.plan.blocks[chain.height] > _oslo(8, 0)


def test_the_tracker_records_the_demos_payments_from_the_lab_chain(
    played_demo_day: PlayedDay,
) -> None:
    with Session(played_demo_day.engine) as session:
        world = load_world(session)
        onchain = session.scalars(
            select(Payment)
            .join(Invoice, Invoice.id == Payment.invoice_id)
            .where(Invoice.method == PaymentMethod.ONCHAIN)
        ).all()
        recorders = set(
            session.scalars(
                select(JournalEvent.actor).where(
                    JournalEvent.kind == "PaymentSeen",
                    JournalEvent.subject.in_([p.invoice.subject for p in onchain]),
                )
            ).all()
        )
        tracked = session.scalars(
            select(TrackedBlock.block_hash).order_by(TrackedBlock.height)
        ).all()
        rebuilt = DemoChain(world)
        rebuilt.advance_to(world.plan.day_end, invoice_addresses(session, world))
    chain = rebuilt.chain
    planned = sum(
        len(o.payments) for o in world.plan.orders if o.method is PaymentMethod.ONCHAIN
    )

    assert len(onchain) == planned
    assert recorders == {TRACKER}
    assert all(chain.transaction_block(p.txid or "") for p in onchain)
    assert all(p.confirmations >= 6 for p in onchain)
    assert tracked == [chain.block_hash(h) for h in range(chain.height + 1)]
    assert chain.height == sum(b <= world.plan.day_end for b in world.plan.blocks)


def test_node_eu_north_going_down_fails_tracking_over_and_logs_it(
    played_demo_day: PlayedDay,
) -> None:
    with Session(played_demo_day.engine) as session:
        failovers = session.scalars(select(TrackerFailover)).all()
        logged = session.scalars(
            select(JournalEvent).where(JournalEvent.kind == "PaymentTrackingFailedOver")
        ).all()

    assert [(f.at, f.from_node, f.to_node) for f in failovers] == [
        (_oslo(9, 10), "node-eu-north", "node-us-east")
    ]
    assert "node-eu-north is down" in failovers[0].reason
    assert [(e.occurred_at, e.actor) for e in logged] == [(_oslo(9, 10), TRACKER)]


def test_the_tracker_outage_issues_fallback_addresses_paid_after_it(
    played_demo_day: PlayedDay,
) -> None:
    with Session(played_demo_day.engine) as session:
        world = load_world(session)
        issued = session.scalars(select(IssuedAddress).order_by(IssuedAddress.id)).all()
        invoices = [i.invoice for i in issued]
        went_down = session.scalar(
            select(JournalEvent.seq).where(
                JournalEvent.kind == "ComponentStateChanged",
                JournalEvent.subject == "component:payment-tracker",
                JournalEvent.occurred_at == _oslo(10, 55),
            )
        )
        mined_meanwhile = session.scalars(
            select(TrackedBlock.processed_at).where(
                TrackedBlock.time >= _oslo(10, 55), TrackedBlock.time < _oslo(11, 30)
            )
        ).all()
        seen = session.scalars(
            select(JournalEvent.seq).where(
                JournalEvent.kind == "PaymentSeen",
                JournalEvent.subject.in_([i.subject for i in invoices]),
            )
        ).all()
    main = set(_main_addresses(world).values())

    assert [i.derivation_index for i in issued] == [0, 1]
    assert all(_oslo(10, 55) <= i.issued_at < _oslo(11, 30) for i in issued)
    assert not main & {i.address for i in issued}
    assert [i.status for i in invoices] == [InvoiceStatus.SETTLED] * 2
    # Paid while tracking was down; the blocks mined meanwhile were processed
    # when it returned, so neither payment was missed.
    assert went_down is not None
    assert len(seen) == 2
    assert min(seen) > went_down
    assert mined_meanwhile
    assert set(mined_meanwhile) == {_oslo(11, 30)}
