"""The invoice lifecycle rules, with no database: facts in, status out."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from controlroom.payments.lifecycle import (
    InvoiceException,
    InvoiceStatus,
    InvoiceTerms,
    PaymentFacts,
    PaymentState,
    QueueReason,
    derive_invoice,
    payment_state,
)

START = datetime(2026, 12, 4, 9, 0, tzinfo=UTC)


def minute(n: float) -> datetime:
    return START + timedelta(minutes=n)


def terms(
    amount: int = 120_000,
    *,
    expires: float = 15,
    monitoring: float = 75,
    tolerance_bp: int = 0,
    required: int = 1,
) -> InvoiceTerms:
    return InvoiceTerms(
        amount_sat=amount,
        created_at=START,
        expires_at=minute(expires),
        monitoring_until=minute(monitoring),
        tolerance_bp=tolerance_bp,
        required_confirmations=required,
    )


def paid(
    amount: int,
    at: float = 5,
    *,
    confirmations: int = 0,
    state: PaymentState = PaymentState.SEEN,
    rbf: bool = False,
) -> PaymentFacts:
    return PaymentFacts(
        amount_sat=amount,
        seen_at=minute(at),
        state=state,
        confirmations=confirmations,
        signals_rbf=rbf,
    )


def test_an_invoice_with_no_payment_is_new_then_expired() -> None:
    before = derive_invoice(terms(), [], now=minute(14))
    after = derive_invoice(terms(), [], now=minute(15))

    assert (before.status, before.exception, before.due_sat) == (
        InvoiceStatus.NEW,
        None,
        120_000,
    )
    assert (after.status, after.exception, after.queue) == (
        InvoiceStatus.EXPIRED,
        None,
        (),
    )


def test_an_underpayment_without_tolerance_is_partial_then_expires_into_the_queue() -> (
    None
):
    payments = [paid(116_776, at=5)]

    at_five = derive_invoice(terms(), payments, now=minute(5))
    at_fifteen = derive_invoice(terms(), payments, now=minute(15))

    assert (at_five.status, at_five.exception) == (
        InvoiceStatus.NEW,
        InvoiceException.PAID_PARTIAL,
    )
    assert (at_five.paid_sat, at_five.due_sat) == (116_776, 3_224)
    assert not at_five.needs_operator
    assert (at_fifteen.status, at_fifteen.exception) == (
        InvoiceStatus.EXPIRED,
        InvoiceException.PAID_PARTIAL,
    )
    assert at_fifteen.queue == (QueueReason.EXPIRED_WITH_MONEY,)


def test_the_same_underpayment_within_three_percent_is_processed_then_settled() -> None:
    lenient = terms(tolerance_bp=300)

    seen = derive_invoice(lenient, [paid(116_776)], now=minute(5))
    mined = derive_invoice(
        lenient, [paid(116_776, confirmations=1)], now=minute(12), previous=seen.status
    )

    assert (seen.status, seen.exception, seen.due_sat) == (
        InvoiceStatus.PROCESSING,
        None,
        0,
    )
    assert (mined.status, mined.exception, mined.queue) == (
        InvoiceStatus.SETTLED,
        None,
        (),
    )


def test_a_tolerance_forgives_no_more_than_it_says() -> None:
    lenient = terms(tolerance_bp=300)  # 3 % of 120,000 is 3,600

    verdict = derive_invoice(lenient, [paid(116_399)], now=minute(5))

    assert (verdict.status, verdict.due_sat) == (InvoiceStatus.NEW, 3_601)


def test_a_payment_after_expiry_is_late_and_never_fulfils_the_invoice() -> None:
    short = terms(expires=1, monitoring=11)
    payment = paid(120_000, at=3)

    seen = derive_invoice(short, [payment], now=minute(3))
    mined = derive_invoice(
        short,
        [paid(120_000, at=3, confirmations=1)],
        now=minute(14),
        previous=seen.status,
    )

    for verdict in (seen, mined):
        assert (verdict.status, verdict.exception) == (
            InvoiceStatus.EXPIRED,
            InvoiceException.PAID_LATE,
        )
        assert verdict.queue == (QueueReason.EXPIRED_WITH_MONEY,)


def test_a_top_up_after_expiry_makes_a_partial_invoice_late() -> None:
    payments = [paid(60_000, at=5), paid(60_000, at=20)]

    verdict = derive_invoice(terms(), payments, now=minute(20))

    assert (verdict.status, verdict.exception, verdict.paid_sat) == (
        InvoiceStatus.EXPIRED,
        InvoiceException.PAID_LATE,
        120_000,
    )


def test_a_replaced_payment_does_not_count_beside_its_fee_bump() -> None:
    payments = [
        paid(120_000, at=5, state=PaymentState.REPLACED, rbf=True),
        paid(120_000, at=7, rbf=True),
    ]

    verdict = derive_invoice(terms(), payments, now=minute(7))

    assert (verdict.status, verdict.exception, verdict.paid_sat) == (
        InvoiceStatus.PROCESSING,
        None,
        120_000,
    )


def test_a_double_spend_before_expiry_reopens_the_invoice() -> None:
    payments = [paid(120_000, state=PaymentState.DOUBLE_SPENT)]

    verdict = derive_invoice(
        terms(), payments, now=minute(8), previous=InvoiceStatus.PROCESSING
    )

    assert (verdict.status, verdict.exception, verdict.due_sat) == (
        InvoiceStatus.NEW,
        None,
        120_000,
    )


def test_a_double_spend_of_an_on_time_payment_after_expiry_invalidates() -> None:
    payments = [paid(120_000, state=PaymentState.DOUBLE_SPENT)]

    verdict = derive_invoice(
        terms(), payments, now=minute(20), previous=InvoiceStatus.PROCESSING
    )

    assert verdict.status is InvoiceStatus.INVALID
    assert verdict.queue == (QueueReason.INVALID,)


def test_a_payment_unconfirmed_when_monitoring_ends_invalidates() -> None:
    payments = [paid(120_000)]

    before = derive_invoice(terms(), payments, now=minute(74))
    after = derive_invoice(terms(), payments, now=minute(75), previous=before.status)

    assert before.status is InvoiceStatus.PROCESSING
    assert after.status is InvoiceStatus.INVALID


def test_invalid_stays_invalid_when_the_payment_confirms_after_all() -> None:
    payments = [paid(120_000, confirmations=3)]

    verdict = derive_invoice(
        terms(), payments, now=minute(90), previous=InvoiceStatus.INVALID
    )

    assert verdict.status is InvoiceStatus.INVALID
    assert verdict.queue == (QueueReason.INVALID,)


def test_a_reorg_keeps_settled_but_puts_it_in_the_operator_queue() -> None:
    reorged = [paid(120_000, state=PaymentState.REORGED)]

    verdict = derive_invoice(
        terms(), reorged, now=minute(30), previous=InvoiceStatus.SETTLED
    )

    assert (verdict.status, verdict.exception) == (InvoiceStatus.SETTLED, None)
    assert verdict.queue == (QueueReason.SETTLED_UNBACKED,)


def test_zero_confirmations_settle_at_once_unless_the_payment_signals_rbf() -> None:
    small = terms(15_000, required=0)

    plain = derive_invoice(small, [paid(15_000)], now=minute(5))
    replaceable = derive_invoice(small, [paid(15_000, rbf=True)], now=minute(5))
    replaceable_mined = derive_invoice(
        small, [paid(15_000, rbf=True, confirmations=1)], now=minute(12)
    )

    assert plain.status is InvoiceStatus.SETTLED
    assert replaceable.status is InvoiceStatus.PROCESSING
    assert replaceable_mined.status is InvoiceStatus.SETTLED


def test_an_overpayment_settles_as_paid_over_and_asks_for_a_refund() -> None:
    verdict = derive_invoice(terms(), [paid(125_000, confirmations=1)], now=minute(9))

    assert (verdict.status, verdict.exception) == (
        InvoiceStatus.SETTLED,
        InvoiceException.PAID_OVER,
    )
    assert verdict.queue == (QueueReason.PAID_OVER,)


def test_a_settlement_waits_for_every_on_time_payment() -> None:
    payments = [paid(60_000, confirmations=2), paid(60_000, at=9)]

    verdict = derive_invoice(terms(), payments, now=minute(10))

    assert verdict.status is InvoiceStatus.PROCESSING


def test_a_marked_invoice_keeps_the_status_a_person_gave_it() -> None:
    verdict = derive_invoice(
        terms(), [], now=minute(90), previous=InvoiceStatus.SETTLED, marked=True
    )

    assert (verdict.status, verdict.exception, verdict.queue) == (
        InvoiceStatus.SETTLED,
        InvoiceException.MARKED,
        (),
    )


@pytest.mark.parametrize(
    ("facts", "required", "state"),
    [
        (paid(1, confirmations=0), 1, PaymentState.SEEN),
        (paid(1, confirmations=1), 1, PaymentState.CONFIRMED),
        (paid(1, confirmations=0), 0, PaymentState.CONFIRMED),
        (paid(1, confirmations=0, rbf=True), 0, PaymentState.SEEN),
        (paid(1, state=PaymentState.REORGED), 1, PaymentState.REORGED),
        (
            paid(1, state=PaymentState.REORGED, confirmations=1),
            1,
            PaymentState.CONFIRMED,
        ),
        (
            paid(1, state=PaymentState.REPLACED, confirmations=3),
            1,
            PaymentState.REPLACED,
        ),
    ],
    ids=[
        "waiting",
        "deep-enough",
        "0-conf",
        "0-conf-rbf",
        "reorged",
        "re-mined",
        "replaced",
    ],
)
def test_a_payment_state_follows_its_depth_and_policy(
    facts: PaymentFacts, required: int, state: PaymentState
) -> None:
    assert payment_state(facts, required=required) is state
