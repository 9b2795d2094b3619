"""The invoice lifecycle: issue, see payments, confirm, settle, expire."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import BigInteger, inspect
from sqlalchemy.orm import Session

from controlroom.errors import PaymentError
from controlroom.orders.models import Parcel
from controlroom.payments.models import (
    Invoice,
    InvoiceException,
    InvoiceStatus,
    Payment,
    PaymentMethod,
    PaymentState,
)
from controlroom.payments.service import (
    expire_invoices,
    issue_invoice,
    record_confirmations,
    record_payment,
)
from tests.conftest import DAY
from tests.orders.world import customers, head_seq, kinds_after, order

TXID = "f4184fc596403b9d638783cf57adfe4c75c605f6356fbc91338530e9831e9e16"
EXPIRES = DAY + timedelta(minutes=30)


@pytest.fixture
def parcel(session: Session) -> Parcel:
    """An ordered parcel waiting for its invoice."""
    return order(session, *customers(session))


def onchain(session: Session, parcel: Parcel, confirmations: int = 2) -> Invoice:
    return issue_invoice(
        session,
        parcel=parcel,
        method=PaymentMethod.ONCHAIN,
        amount_sat=25_000,
        created_at=DAY,
        expires_at=EXPIRES,
        actor="webshop",
        required_confirmations=confirmations,
        address="bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq",
    )


def lightning(session: Session, parcel: Parcel) -> Invoice:
    return issue_invoice(
        session,
        parcel=parcel,
        method=PaymentMethod.LIGHTNING,
        amount_sat=25_000,
        created_at=DAY,
        expires_at=EXPIRES,
        actor="webshop",
        payment_hash="0001020304050607080900010203040506070809000102030405060708090102",
    )


def pay(
    session: Session, invoice: Invoice, amount: int, vout: int = 0, minutes: int = 5
) -> Payment:
    return record_payment(
        session,
        invoice=invoice,
        amount_sat=amount,
        seen_at=DAY + timedelta(minutes=minutes),
        actor="node:oslo",
        txid=TXID,
        vout=vout,
    )


def test_every_amount_column_holds_integers() -> None:
    for model in (Invoice, Payment):
        for column in inspect(model).columns:
            if column.key.endswith("_sat"):
                assert isinstance(column.type, BigInteger), column.key


def test_issuing_an_invoice_journals_it(session: Session, parcel: Parcel) -> None:
    before = head_seq(session)

    invoice = onchain(session, parcel)

    assert (invoice.status, invoice.paid_sat) == (InvoiceStatus.NEW, 0)
    assert isinstance(invoice.amount_sat, int)
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
    ],
)
def test_an_impossible_invoice_is_refused(
    session: Session, parcel: Parcel, change: dict[str, object], message: str
) -> None:
    request: dict[str, object] = {
        "method": PaymentMethod.ONCHAIN,
        "amount_sat": 25_000,
        "created_at": DAY,
        "expires_at": EXPIRES,
        "address": "bc1qexample",
        "payment_hash": None,
    }
    request.update(change)

    with pytest.raises(PaymentError, match=message):
        issue_invoice(session, parcel=parcel, actor="webshop", **request)


def test_lightning_settles_without_confirmations(
    session: Session, parcel: Parcel
) -> None:
    invoice = lightning(session, parcel)
    before = head_seq(session)

    payment = record_payment(
        session,
        invoice=invoice,
        amount_sat=25_000,
        seen_at=DAY + timedelta(minutes=1),
        actor="node:ln",
        payment_hash=invoice.payment_hash,
    )

    assert payment.state is PaymentState.CONFIRMED
    assert payment.confirmations == 0
    assert invoice.status is InvoiceStatus.SETTLED
    assert invoice.settled_at == DAY + timedelta(minutes=1)
    assert kinds_after(session, before) == ["PaymentSeen", "InvoiceSettled"]


def test_onchain_settles_at_the_required_confirmations(
    session: Session, parcel: Parcel
) -> None:
    invoice = onchain(session, parcel, confirmations=2)
    before = head_seq(session)

    payment = pay(session, invoice, 25_000)
    assert invoice.status is InvoiceStatus.PROCESSING
    record_confirmations(
        session, payment=payment, confirmations=1, at=DAY, actor="node:oslo"
    )
    assert invoice.status is InvoiceStatus.PROCESSING
    record_confirmations(
        session, payment=payment, confirmations=2, at=EXPIRES, actor="node:oslo"
    )

    assert payment.state is PaymentState.CONFIRMED
    assert (invoice.status, invoice.exception) == (InvoiceStatus.SETTLED, None)
    assert invoice.settled_at == EXPIRES
    assert kinds_after(session, before) == [
        "PaymentSeen",
        "PaymentConfirmed",
        "PaymentConfirmed",
        "InvoiceSettled",
    ]


def test_an_unchanged_confirmation_count_writes_nothing(
    session: Session, parcel: Parcel
) -> None:
    payment = pay(session, onchain(session, parcel), 25_000)
    before = head_seq(session)

    record_confirmations(session, payment=payment, confirmations=0, at=DAY, actor="n")

    assert kinds_after(session, before) == []


def test_negative_confirmations_are_refused(session: Session, parcel: Parcel) -> None:
    payment = pay(session, onchain(session, parcel), 25_000)

    with pytest.raises(PaymentError, match="cannot be negative"):
        record_confirmations(
            session, payment=payment, confirmations=-1, at=DAY, actor="n"
        )


def test_a_partial_payment_is_marked_and_does_not_settle(
    session: Session, parcel: Parcel
) -> None:
    invoice = onchain(session, parcel, confirmations=1)

    payment = pay(session, invoice, 10_000)
    record_confirmations(session, payment=payment, confirmations=1, at=DAY, actor="n")

    assert invoice.exception is InvoiceException.PAID_PARTIAL
    assert invoice.status is InvoiceStatus.PROCESSING


def test_topping_up_a_partial_payment_settles_cleanly(
    session: Session, parcel: Parcel
) -> None:
    invoice = onchain(session, parcel, confirmations=1)
    first = pay(session, invoice, 10_000, vout=0)
    second = pay(session, invoice, 15_000, vout=1)

    for payment in (first, second):
        record_confirmations(
            session, payment=payment, confirmations=1, at=DAY, actor="n"
        )

    assert (invoice.status, invoice.exception) == (InvoiceStatus.SETTLED, None)
    assert invoice.paid_sat == 25_000


def test_an_overpayment_is_marked_and_settles(session: Session, parcel: Parcel) -> None:
    invoice = onchain(session, parcel, confirmations=1)

    payment = pay(session, invoice, 30_000)
    record_confirmations(session, payment=payment, confirmations=1, at=DAY, actor="n")

    assert invoice.exception is InvoiceException.PAID_OVER
    assert invoice.status is InvoiceStatus.SETTLED


def test_a_payment_after_expiry_is_marked_late(
    session: Session, parcel: Parcel
) -> None:
    invoice = onchain(session, parcel)

    pay(session, invoice, 25_000, minutes=45)

    assert invoice.exception is InvoiceException.PAID_LATE
    assert invoice.status is InvoiceStatus.PROCESSING


def test_an_invoice_waits_for_every_payment_to_confirm(
    session: Session, parcel: Parcel
) -> None:
    invoice = onchain(session, parcel, confirmations=2)
    first = pay(session, invoice, 25_000, vout=0)
    record_confirmations(session, payment=first, confirmations=1, at=DAY, actor="n")
    pay(session, invoice, 1_000, vout=1)

    record_confirmations(session, payment=first, confirmations=2, at=DAY, actor="n")

    assert invoice.status is InvoiceStatus.PROCESSING


@pytest.mark.parametrize(
    ("txid", "vout"), [(None, 0), (TXID, None)], ids=["no-txid", "no-vout"]
)
def test_an_onchain_payment_needs_its_outpoint(
    session: Session, parcel: Parcel, txid: str | None, vout: int | None
) -> None:
    invoice = onchain(session, parcel)

    with pytest.raises(PaymentError, match="needs its txid and output index"):
        record_payment(
            session,
            invoice=invoice,
            amount_sat=25_000,
            seen_at=DAY,
            actor="n",
            txid=txid,
            vout=vout,
        )


def test_a_payment_must_be_positive(session: Session, parcel: Parcel) -> None:
    with pytest.raises(PaymentError, match="must be positive, not 0 sat"):
        pay(session, onchain(session, parcel), 0)


def test_the_same_output_is_not_recorded_twice(
    session: Session, parcel: Parcel
) -> None:
    invoice = onchain(session, parcel)
    pay(session, invoice, 25_000)
    before = head_seq(session)

    with pytest.raises(PaymentError, match=f"{TXID}:0 is already recorded"):
        pay(session, invoice, 25_000)

    assert invoice.paid_sat == 25_000
    assert kinds_after(session, before) == []


def test_unpaid_invoices_expire_and_paid_ones_do_not(session: Session) -> None:
    sender, recipient = customers(session)
    unpaid = onchain(session, order(session, sender, recipient))
    paid = lightning(session, order(session, sender, recipient))
    record_payment(session, invoice=paid, amount_sat=25_000, seen_at=DAY, actor="n")
    before = head_seq(session)

    expired = expire_invoices(session, now=EXPIRES, actor="scheduler")

    assert expired == 1
    assert unpaid.status is InvoiceStatus.EXPIRED
    assert paid.status is InvoiceStatus.SETTLED
    assert kinds_after(session, before) == ["InvoiceExpired"]


def test_nothing_expires_before_its_time(session: Session, parcel: Parcel) -> None:
    invoice = onchain(session, parcel)

    expired = expire_invoices(session, now=EXPIRES - timedelta(seconds=1), actor="s")

    assert (expired, invoice.status) == (0, InvoiceStatus.NEW)
