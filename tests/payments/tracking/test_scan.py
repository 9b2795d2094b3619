"""Matching transactions to invoices: a real mainnet block, replacements, conflicts."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from controlroom.payments.addresses import Network
from controlroom.payments.blocks import ParsedBlock, parse_block
from controlroom.payments.models import Invoice, Payment, PaymentMethod, PaymentState
from controlroom.payments.service import issue_invoice
from controlroom.payments.tracking.scan import scan_transactions
from controlroom.payments.tracking.service import track_once
from tests.conftest import DAY, SHARED_DATA
from tests.orders.world import customers, order
from tests.payments.tracking.conftest import Lab, open_invoices, regtest_address

BLOCK_702349 = SHARED_DATA / "bitcoin" / "mainnet_block_702349.raw"
# Outputs of block 702349, one per address kind the block holds (it predates
# taproot's activation at 709,632): (txid, vout, address, sat).
PAID_IN_702349 = [
    (
        "2b22b06220e31781c94ccaa68f654d54749eb37a1ab0de9c3aadd27f075e434b",
        1,
        "1Hf16aUW3yjzi3STTUBwA9VGgWUpDvXC1T",
        52_514_804,
    ),
    (
        "2b22b06220e31781c94ccaa68f654d54749eb37a1ab0de9c3aadd27f075e434b",
        0,
        "3BFwifA3YAiv8TeCYMkeYnVWPcJFzsBXE3",
        1_332_318,
    ),
    (
        "7bf717689b9033eafb2f3272719989b304bb7db616c2bfb5ded2e1b76d50a4f0",
        1,
        "bc1qxp53jp0p75cfgrryt4m8qylex8xf0j9mum8gpl",
        2_297_555,
    ),
    (
        "7bf717689b9033eafb2f3272719989b304bb7db616c2bfb5ded2e1b76d50a4f0",
        0,
        "bc1qmexsnhyukr729eclj6mesu0unyf3p0qvn6app6fu5j2xjmavay4qrx02ge",
        422_939,
    ),
]
LATER = DAY + timedelta(hours=2)


@pytest.fixture(scope="module")
def block_702349() -> ParsedBlock:
    """Mainnet block 702,349 (2,500 transactions), parsed and checked."""
    return parse_block(BLOCK_702349.read_bytes(), network=Network.MAINNET)


def invoice_for(session: Session, address: str, amount_sat: int) -> Invoice:
    return issue_invoice(
        session,
        parcel=order(session, *customers(session)),
        method=PaymentMethod.ONCHAIN,
        amount_sat=amount_sat,
        created_at=DAY,
        expires_at=DAY + timedelta(hours=1),
        actor="webshop",
        address=address,
    )


def test_every_address_kind_paid_in_a_real_block_is_found(
    session: Session, block_702349: ParsedBlock
) -> None:
    for _, _, address, sat in PAID_IN_702349:
        invoice_for(session, address, sat)

    found = scan_transactions(
        session,
        block_702349.transactions,
        network=Network.MAINNET,
        seen_at=DAY,
        actor="tracker",
    )

    assert found == 4
    rows = session.execute(
        select(Payment.txid, Payment.vout, Payment.amount_sat).order_by(
            Payment.txid, Payment.vout.desc()
        )
    ).all()
    assert rows == [(t, v, sat) for t, v, _, sat in PAID_IN_702349]


def test_an_rbf_fee_bump_paying_the_same_counts_once(
    session: Session, lab: Lab
) -> None:
    (invoice,) = open_invoices(session, 1, amount_sat=80_000)
    track_once(session, nodes=lab.nodes, now=DAY, actor="tracker", start_height=1)
    first = lab.chain.pay([(invoice.address or "", 80_000)], rbf=True)
    track_once(session, nodes=lab.nodes, now=DAY, actor="tracker")

    bumped = lab.chain.replace(first)
    lab.chain.mine()
    track_once(session, nodes=lab.nodes, now=LATER, actor="tracker")

    states = session.execute(
        select(Payment.txid, Payment.state).order_by(Payment.id)
    ).all()
    assert states == [
        (first, PaymentState.REPLACED),
        (bumped, PaymentState.CONFIRMED),
    ]
    assert invoice.paid_sat == 80_000


def test_a_replacement_paying_someone_else_double_spends_the_payment(
    session: Session, lab: Lab
) -> None:
    (invoice,) = open_invoices(session, 1, amount_sat=80_000)
    track_once(session, nodes=lab.nodes, now=DAY, actor="tracker", start_height=1)
    paid = lab.chain.pay([(invoice.address or "", 80_000)], rbf=True)
    track_once(session, nodes=lab.nodes, now=DAY, actor="tracker")

    thief = lab.chain.replace(paid, outputs=[(regtest_address("thief"), 80_000)])
    lab.chain.mine()
    track_once(session, nodes=lab.nodes, now=LATER, actor="tracker")

    payment = session.scalars(select(Payment)).one()
    assert (payment.state, payment.double_spent_by) == (
        PaymentState.DOUBLE_SPENT,
        thief,
    )
    assert invoice.paid_sat == 0
