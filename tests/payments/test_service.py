"""The invoice lifecycle in the database: issue, see, replace, confirm, reorg."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest
from sqlalchemy import BigInteger, Engine, inspect
from sqlalchemy.orm import Session

from controlroom.errors import PaymentError
from controlroom.orders.models import Parcel
from controlroom.payments.lifecycle import QueueReason
from controlroom.payments.models import (
    Invoice,
    InvoiceException,
    InvoiceStatus,
    OrderClass,
    Payment,
    PaymentMethod,
    PaymentState,
)
from controlroom.payments.service import (
    confirm_in_block,
    expire_invoices,
    invoice_verdict,
    issue_invoice,
    mark_invoice,
    operator_queue,
    record_confirmations,
    record_conflict,
    record_payment,
    refresh_invoices,
    see_onchain_payment,
    unconfirm_block,
    update_confirmations,
    watched_addresses,
    watched_outpoints,
)
from tests.conftest import DAY
from tests.orders.world import customers, head_seq, kinds_after, order

ADDRESS = "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq"
# BIP173 test vector too: a second, different address.
OTHER = "bc1qrp33g0q5c5txsp9arysrx4k6zdkfs4nce4xj0gdcccefvpysxf3qccfmv3"
TX_A = "a1" * 32
TX_B = "b2" * 32
TX_C = "c3" * 32
COIN_1 = "d4" * 32 + ":0"
COIN_2 = "e5" * 32 + ":1"
BLOCK_1 = "00" * 31 + "01"
BLOCK_2 = "00" * 31 + "02"
ROBOT = "tracker"


def minute(n: float) -> datetime:
    return DAY + timedelta(minutes=n)


@pytest.fixture
def parcel(session: Session) -> Parcel:
    """An ordered parcel waiting for its invoice."""
    return order(session, *customers(session))


def onchain(
    session: Session,
    parcel: Parcel,
    *,
    amount: int = 120_000,
    expires: float = 15,
    monitoring: float | None = None,
    tolerance_bp: int | None = None,
    confirmations: int | None = None,
    address: str = ADDRESS,
) -> Invoice:
    return issue_invoice(
        session,
        parcel=parcel,
        method=PaymentMethod.ONCHAIN,
        amount_sat=amount,
        created_at=DAY,
        expires_at=minute(expires),
        monitoring_until=None if monitoring is None else minute(monitoring),
        tolerance_bp=tolerance_bp,
        required_confirmations=confirmations,
        actor="webshop",
        address=address,
    )


def lightning(session: Session, parcel: Parcel) -> Invoice:
    return issue_invoice(
        session,
        parcel=parcel,
        method=PaymentMethod.LIGHTNING,
        amount_sat=25_000,
        created_at=DAY,
        expires_at=minute(30),
        actor="webshop",
        payment_hash="0001020304050607080900010203040506070809000102030405060708090102",
    )


def see(
    session: Session,
    invoice: Invoice,
    amount: int,
    *,
    txid: str = TX_A,
    at: float = 5,
    spends: tuple[str, ...] = (COIN_1,),
    rbf: bool = False,
    vout: int = 0,
) -> Payment:
    return see_onchain_payment(
        session,
        invoice=invoice,
        txid=txid,
        vout=vout,
        amount_sat=amount,
        spends=spends,
        signals_rbf=rbf,
        seen_at=minute(at),
        actor=ROBOT,
    )


def mine(session: Session, txid: str, *, height: int, block: str, at: float) -> None:
    confirm_in_block(
        session,
        txid=txid,
        block_height=height,
        block_hash=block,
        at=minute(at),
        actor=ROBOT,
    )


def state_of(invoice: Invoice) -> tuple[InvoiceStatus, InvoiceException | None]:
    return invoice.status, invoice.exception


# -- issuing ------------------------------------------------------------------


def test_every_amount_column_holds_integers() -> None:
    for model in (Invoice, Payment):
        for column in inspect(model).columns:
            if column.key.endswith("_sat"):
                assert isinstance(column.type, BigInteger), column.key


def test_issuing_takes_confirmations_and_windows_from_the_policy(
    session: Session, parcel: Parcel
) -> None:
    before = head_seq(session)

    invoice = onchain(session, parcel, amount=1_500_000)

    assert (invoice.status, invoice.paid_sat) == (InvoiceStatus.NEW, 0)
    assert invoice.order_class is OrderClass.LARGE
    assert invoice.required_confirmations == 2
    assert invoice.tolerance_bp == 0
    assert invoice.monitoring_until == minute(15 + 60)
    assert kinds_after(session, before) == ["InvoiceIssued"]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"amount_sat": 0}, "positive amount, not 0"),
        ({"expires_at": DAY}, "expire after it is created"),
        ({"address": None}, "on-chain invoice needs an address"),
        (
            {"method": PaymentMethod.LIGHTNING, "payment_hash": None},
            "Lightning invoice needs its payment hash",
        ),
        ({"tolerance_bp": 10_000}, "10000 basis points is not between"),
        ({"monitoring_until": DAY}, "Monitoring must not end before"),
        ({"required_confirmations": -1}, "cannot be negative"),
    ],
)
def test_an_impossible_invoice_is_refused(
    session: Session, parcel: Parcel, change: dict[str, object], message: str
) -> None:
    request: dict[str, object] = {
        "method": PaymentMethod.ONCHAIN,
        "amount_sat": 25_000,
        "created_at": DAY,
        "expires_at": minute(30),
        "address": ADDRESS,
        "payment_hash": None,
    }
    request.update(change)

    with pytest.raises(PaymentError, match=message):
        issue_invoice(session, parcel=parcel, actor="webshop", **request)


# -- the issue's cases ----------------------------------------------------------


def test_an_underpayment_is_partial_then_expires_into_the_operator_queue(
    session: Session, parcel: Parcel
) -> None:
    invoice = onchain(session, parcel, amount=120_000, expires=15, tolerance_bp=0)
    before = head_seq(session)

    see(session, invoice, 116_776, at=5)
    partial = state_of(invoice)
    due = invoice_verdict(invoice).due_sat
    refresh_invoices(session, now=minute(15), actor=ROBOT)

    assert partial == (InvoiceStatus.NEW, InvoiceException.PAID_PARTIAL)
    assert due == 3_224
    assert state_of(invoice) == (InvoiceStatus.EXPIRED, InvoiceException.PAID_PARTIAL)
    [entry] = operator_queue(session)
    assert (entry.invoice_id, entry.due_sat) == (invoice.id, 3_224)
    assert entry.reasons == (QueueReason.EXPIRED_WITH_MONEY,)
    assert kinds_after(session, before) == ["PaymentSeen", "InvoiceExpired"]


def test_the_same_underpayment_within_three_percent_is_processed_then_settled(
    session: Session, parcel: Parcel
) -> None:
    invoice = onchain(session, parcel, amount=120_000, expires=15, tolerance_bp=300)
    before = head_seq(session)

    see(session, invoice, 116_776, at=5)
    processing = state_of(invoice)
    mine(session, TX_A, height=927_001, block=BLOCK_1, at=12)
    refresh_invoices(session, now=minute(15), actor=ROBOT)

    assert processing == (InvoiceStatus.PROCESSING, None)
    assert state_of(invoice) == (InvoiceStatus.SETTLED, None)
    assert invoice.settled_at == minute(12)
    assert operator_queue(session) == []
    assert kinds_after(session, before) == [
        "PaymentSeen",
        "InvoiceProcessing",
        "PaymentConfirmed",
        "InvoiceSettled",
    ]


def test_a_payment_after_expiry_is_tracked_but_never_fulfils_the_invoice(
    session: Session, parcel: Parcel
) -> None:
    invoice = onchain(session, parcel, expires=1, monitoring=10)
    refresh_invoices(session, now=minute(1), actor=ROBOT)

    payment = see(session, invoice, 120_000, at=3)
    refresh_invoices(session, now=minute(11), actor=ROBOT)
    mine(session, TX_A, height=927_001, block=BLOCK_1, at=14)
    update_confirmations(session, tip_height=927_002, at=minute(24), actor=ROBOT)

    assert state_of(invoice) == (InvoiceStatus.EXPIRED, InvoiceException.PAID_LATE)
    assert (payment.state, payment.confirmations) == (PaymentState.CONFIRMED, 2)
    assert invoice.settled_at is None
    assert [e.reasons for e in operator_queue(session)] == [
        (QueueReason.EXPIRED_WITH_MONEY,)
    ]


def test_an_rbf_fee_bump_counts_once(session: Session, parcel: Parcel) -> None:
    invoice = onchain(session, parcel)
    first = see(session, invoice, 120_000, txid=TX_A, rbf=True)
    before = head_seq(session)

    bump = see(session, invoice, 120_000, txid=TX_B, at=7, rbf=True)
    mine(session, TX_B, height=927_001, block=BLOCK_1, at=12)

    assert (first.state, first.replaced_by) == (PaymentState.REPLACED, TX_B)
    assert bump.state is PaymentState.CONFIRMED
    assert invoice.paid_sat == 120_000
    assert state_of(invoice) == (InvoiceStatus.SETTLED, None)
    assert kinds_after(session, before) == [
        "PaymentSeen",
        "PaymentReplaced",
        "PaymentConfirmed",
        "InvoiceSettled",
    ]


def test_the_original_mined_over_its_fee_bump_still_counts_once(
    session: Session, parcel: Parcel
) -> None:
    invoice = onchain(session, parcel)
    first = see(session, invoice, 120_000, txid=TX_A, rbf=True)
    bump = see(session, invoice, 120_000, txid=TX_B, at=7, rbf=True)

    mine(session, TX_A, height=927_001, block=BLOCK_1, at=12)

    assert (first.state, first.replaced_by) == (PaymentState.CONFIRMED, None)
    assert (bump.state, bump.replaced_by) == (PaymentState.REPLACED, TX_A)
    assert (invoice.paid_sat, invoice.status) == (120_000, InvoiceStatus.SETTLED)


def test_a_double_spend_before_expiry_reopens_the_invoice(
    session: Session, parcel: Parcel
) -> None:
    invoice = onchain(session, parcel)
    payment = see(session, invoice, 120_000, spends=(COIN_1, COIN_2))
    before = head_seq(session)

    lost = record_conflict(
        session, txid=TX_C, spends=[COIN_2], at=minute(8), actor=ROBOT
    )
    again = record_conflict(
        session, txid=TX_C, spends=[COIN_2], at=minute(9), actor=ROBOT
    )

    assert lost == [payment]
    assert again == []
    assert (payment.state, payment.double_spent_by) == (PaymentState.DOUBLE_SPENT, TX_C)
    assert state_of(invoice) == (InvoiceStatus.NEW, None)
    assert invoice.paid_sat == 0
    assert watched_outpoints(session) == {}
    assert kinds_after(session, before) == ["PaymentDoubleSpent", "InvoiceReopened"]


def test_a_double_spend_after_expiry_invalidates_the_invoice(
    session: Session, parcel: Parcel
) -> None:
    invoice = onchain(session, parcel, expires=15)
    see(session, invoice, 120_000, at=5)

    record_conflict(session, txid=TX_C, spends=[COIN_1], at=minute(20), actor=ROBOT)

    assert invoice.status is InvoiceStatus.INVALID
    assert [e.reasons for e in operator_queue(session)] == [(QueueReason.INVALID,)]


def test_a_conflicting_payment_that_pays_less_double_spends_the_first(
    session: Session, parcel: Parcel
) -> None:
    invoice = onchain(session, parcel)
    first = see(session, invoice, 120_000, txid=TX_A, rbf=True)

    see(session, invoice, 100_000, txid=TX_B, at=7)

    assert first.state is PaymentState.DOUBLE_SPENT
    assert state_of(invoice) == (InvoiceStatus.NEW, InvoiceException.PAID_PARTIAL)
    assert invoice.paid_sat == 100_000


def test_a_reorg_keeps_settled_and_flags_it_until_the_payment_is_mined_again(
    session: Session, parcel: Parcel
) -> None:
    invoice = onchain(session, parcel)
    payment = see(session, invoice, 120_000)
    mine(session, TX_A, height=927_001, block=BLOCK_1, at=12)
    before = head_seq(session)

    unconfirmed = unconfirm_block(
        session, block_hash=BLOCK_1, at=minute(20), actor=ROBOT
    )
    flagged = [e.reasons for e in operator_queue(session)]
    mine(session, TX_A, height=927_001, block=BLOCK_2, at=22)

    assert unconfirmed == [payment]
    assert flagged == [(QueueReason.SETTLED_UNBACKED,)]
    assert invoice.status is InvoiceStatus.SETTLED
    assert (payment.state, payment.block_hash) == (PaymentState.CONFIRMED, BLOCK_2)
    assert operator_queue(session) == []
    assert kinds_after(session, before) == ["PaymentReorged", "PaymentConfirmed"]


def test_a_reorged_payment_waits_with_no_confirmations(
    session: Session, parcel: Parcel
) -> None:
    invoice = onchain(session, parcel, amount=1_500_000)
    payment = see(session, invoice, 1_500_000)
    mine(session, TX_A, height=927_001, block=BLOCK_1, at=12)

    unconfirm_block(session, block_hash=BLOCK_1, at=minute(20), actor=ROBOT)

    assert (payment.state, payment.confirmations) == (PaymentState.REORGED, 0)
    assert payment.block_height is None
    assert invoice.status is InvoiceStatus.PROCESSING


def test_confirmations_are_counted_from_the_tip_and_settle_a_large_order(
    session: Session, parcel: Parcel
) -> None:
    invoice = onchain(session, parcel, amount=1_500_000)  # large: 2 blocks
    payment = see(session, invoice, 1_500_000)
    mine(session, TX_A, height=927_001, block=BLOCK_1, at=12)
    update_confirmations(session, tip_height=927_001, at=minute(12), actor=ROBOT)
    before = head_seq(session)

    update_confirmations(session, tip_height=927_002, at=minute(22), actor=ROBOT)
    update_confirmations(session, tip_height=927_002, at=minute(23), actor=ROBOT)

    assert (payment.confirmations, payment.state) == (2, PaymentState.CONFIRMED)
    assert invoice.status is InvoiceStatus.SETTLED
    assert kinds_after(session, before) == ["PaymentConfirmed", "InvoiceSettled"]


@pytest.mark.parametrize(
    ("rbf", "status"),
    [(False, InvoiceStatus.SETTLED), (True, InvoiceStatus.PROCESSING)],
    ids=["final", "signals-rbf"],
)
def test_a_small_order_accepts_zero_confirmations_unless_rbf_is_signalled(
    session: Session, parcel: Parcel, rbf: bool, status: InvoiceStatus
) -> None:
    invoice = onchain(session, parcel, amount=15_000)

    see(session, invoice, 15_000, rbf=rbf)

    assert invoice.required_confirmations == 0
    assert invoice.status is status


def test_an_overpayment_settles_as_paid_over_until_two_people_mark_it(
    session: Session, parcel: Parcel
) -> None:
    invoice = onchain(session, parcel)
    see(session, invoice, 125_000)
    mine(session, TX_A, height=927_001, block=BLOCK_1, at=12)
    queued = [e.reasons for e in operator_queue(session)]

    mark_invoice(
        session,
        invoice=invoice,
        status=InvoiceStatus.SETTLED,
        first_actor="ops",
        second_actor="mgmt",
        reason="5,000 sat refunded to the customer",
        at=minute(30),
    )

    assert queued == [(QueueReason.PAID_OVER,)]
    assert state_of(invoice) == (InvoiceStatus.SETTLED, InvoiceException.MARKED)
    assert invoice.settled_at == minute(12)
    assert operator_queue(session) == []


def test_marking_by_one_person_alone_is_refused(
    session: Session, parcel: Parcel
) -> None:
    invoice = onchain(session, parcel)

    with pytest.raises(PaymentError, match="two different people"):
        mark_invoice(
            session,
            invoice=invoice,
            status=InvoiceStatus.SETTLED,
            first_actor="ops",
            second_actor="ops",
            reason="seen in the wallet",
            at=minute(5),
        )


def test_an_unconfirmed_payment_is_invalid_when_monitoring_ends(
    session: Session, parcel: Parcel
) -> None:
    invoice = onchain(session, parcel, expires=15, monitoring=75)
    see(session, invoice, 120_000)
    before = head_seq(session)

    refresh_invoices(session, now=minute(74), actor=ROBOT)
    refresh_invoices(session, now=minute(75), actor=ROBOT)

    assert invoice.status is InvoiceStatus.INVALID
    assert invoice.monitoring_ended_at == minute(75)
    assert watched_addresses(session) == {}
    assert kinds_after(session, before) == ["InvoiceInvalid", "InvoiceMonitoringEnded"]


def test_the_tracker_watches_open_addresses_and_unmined_inputs(
    session: Session, parcel: Parcel
) -> None:
    invoice = onchain(session, parcel)
    lightning(session, order(session, *customers(session)))
    payment = see(session, invoice, 120_000, spends=(COIN_1, COIN_2))

    assert watched_addresses(session) == {ADDRESS: invoice.id}
    assert watched_outpoints(session) == {COIN_1: payment.id, COIN_2: payment.id}


def test_seeing_the_same_output_twice_records_it_once(
    session: Session, parcel: Parcel
) -> None:
    invoice = onchain(session, parcel)
    first = see(session, invoice, 120_000)
    before = head_seq(session)

    second = see(session, invoice, 120_000, at=6)

    assert second is first
    assert invoice.paid_sat == 120_000
    assert kinds_after(session, before) == []


def test_a_malformed_txid_is_refused(session: Session, parcel: Parcel) -> None:
    invoice = onchain(session, parcel)

    with pytest.raises(PaymentError, match="is not a txid"):
        see(session, invoice, 120_000, txid="nonsense")


# -- Lightning and the simple paths ----------------------------------------------


def test_lightning_settles_without_confirmations(
    session: Session, parcel: Parcel
) -> None:
    invoice = lightning(session, parcel)
    before = head_seq(session)

    payment = record_payment(
        session,
        invoice=invoice,
        amount_sat=25_000,
        seen_at=minute(1),
        actor="node:ln",
        payment_hash=invoice.payment_hash,
    )

    assert payment.state is PaymentState.CONFIRMED
    assert payment.confirmations == 0
    assert invoice.status is InvoiceStatus.SETTLED
    assert invoice.settled_at == minute(1)
    assert kinds_after(session, before) == ["PaymentSeen", "InvoiceSettled"]


def test_a_lightning_payment_is_not_recorded_twice(
    session: Session, parcel: Parcel
) -> None:
    invoice = lightning(session, parcel)
    record_payment(
        session,
        invoice=invoice,
        amount_sat=25_000,
        seen_at=minute(1),
        actor="node:ln",
        payment_hash=invoice.payment_hash,
    )

    with pytest.raises(PaymentError, match=r"Lightning payment 0001.* already"):
        record_payment(
            session,
            invoice=invoice,
            amount_sat=25_000,
            seen_at=minute(2),
            actor="node:ln",
            payment_hash=invoice.payment_hash,
        )


def test_a_counted_depth_settles_at_the_required_confirmations(
    session: Session, parcel: Parcel
) -> None:
    invoice = onchain(session, parcel, confirmations=2)
    payment = record_payment(
        session,
        invoice=invoice,
        amount_sat=120_000,
        seen_at=minute(5),
        actor="explorer",
        txid=TX_A,
        vout=0,
    )
    before = head_seq(session)

    record_confirmations(
        session, payment=payment, confirmations=1, at=minute(9), actor="explorer"
    )
    record_confirmations(
        session, payment=payment, confirmations=2, at=minute(19), actor="explorer"
    )
    record_confirmations(
        session, payment=payment, confirmations=2, at=minute(20), actor="explorer"
    )

    assert payment.state is PaymentState.CONFIRMED
    assert (invoice.status, invoice.settled_at) == (InvoiceStatus.SETTLED, minute(19))
    assert kinds_after(session, before) == [
        "PaymentConfirmed",
        "PaymentConfirmed",
        "InvoiceSettled",
    ]


@pytest.mark.parametrize(
    ("txid", "vout"), [(None, 0), (TX_A, None)], ids=["no-txid", "no-vout"]
)
def test_an_onchain_payment_needs_its_outpoint(
    session: Session, parcel: Parcel, txid: str | None, vout: int | None
) -> None:
    invoice = onchain(session, parcel)

    with pytest.raises(PaymentError, match="needs its txid and output index"):
        record_payment(
            session,
            invoice=invoice,
            amount_sat=120_000,
            seen_at=DAY,
            actor="n",
            txid=txid,
            vout=vout,
        )


def test_recording_the_same_output_twice_is_refused(
    session: Session, parcel: Parcel
) -> None:
    invoice = onchain(session, parcel)
    record_payment(
        session,
        invoice=invoice,
        amount_sat=1,
        seen_at=DAY,
        actor="n",
        txid=TX_A,
        vout=0,
    )

    with pytest.raises(PaymentError, match=f"{TX_A}:0 is already recorded"):
        record_payment(
            session,
            invoice=invoice,
            amount_sat=1,
            seen_at=DAY,
            actor="n",
            txid=TX_A,
            vout=0,
        )


def test_unpaid_invoices_expire_and_paid_ones_do_not(session: Session) -> None:
    sender, recipient = customers(session)
    unpaid = onchain(session, order(session, sender, recipient))
    paid = lightning(session, order(session, sender, recipient))
    record_payment(session, invoice=paid, amount_sat=25_000, seen_at=DAY, actor="n")
    before = head_seq(session)

    expired = expire_invoices(session, now=minute(30), actor="scheduler")
    again = expire_invoices(session, now=minute(31), actor="scheduler")

    assert (expired, again) == (1, 0)
    assert unpaid.status is InvoiceStatus.EXPIRED
    assert paid.status is InvoiceStatus.SETTLED
    assert kinds_after(session, before) == ["InvoiceExpired"]


# -- on every database -----------------------------------------------------------


@pytest.fixture
def any_session(any_engine: Engine) -> Iterator[Session]:
    """A session in an open transaction, on SQLite and on PostgreSQL."""
    with Session(any_engine) as session, session.begin():
        yield session


def test_replacement_and_double_spend_work_on_every_database(
    any_session: Session,
) -> None:
    session = any_session
    sender, recipient = customers(session)
    mine_invoice = onchain(session, order(session, sender, recipient))
    other = onchain(session, order(session, sender, recipient), address="bc1qother")
    first = see(session, mine_invoice, 120_000, txid=TX_A, rbf=True)
    bump = see(session, mine_invoice, 120_000, txid=TX_B, at=6, rbf=True)

    see(session, other, 50_000, txid=TX_C, at=7, spends=(COIN_1,))

    assert first.state is PaymentState.REPLACED
    assert (bump.state, bump.double_spent_by) == (PaymentState.DOUBLE_SPENT, TX_C)
    assert mine_invoice.status is InvoiceStatus.NEW
    assert other.exception is InvoiceException.PAID_PARTIAL


def test_an_address_two_orders_share_is_left_to_a_person(session: Session) -> None:
    sender, recipient = customers(session)
    first = onchain(session, order(session, sender, recipient), address=ADDRESS)
    second = onchain(session, order(session, sender, recipient), address=ADDRESS)
    alone = onchain(session, order(session, sender, recipient), address=OTHER)

    watched = watched_addresses(session)

    assert watched == {OTHER: alone.id}
    assert {first.address, second.address} == {ADDRESS}
