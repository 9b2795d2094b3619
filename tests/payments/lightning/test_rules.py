"""Lightning's rules: who, how much, how long, and what a settled invoice means."""

from __future__ import annotations

from datetime import timedelta

import pytest

from controlroom.errors import NodeMisbehaving, PaymentError
from controlroom.orders.models import CustomerKind
from controlroom.payments.addresses import Network
from controlroom.payments.bolt11 import decode_invoice
from controlroom.payments.lab.lightning_node import encode_invoice
from controlroom.payments.lightning.node import (
    LightningInvoiceState,
    NodeInvoiceStatus,
)
from controlroom.payments.lightning.rules import (
    DEFAULT_LIGHTNING_LIMIT_SAT,
    MAX_LIGHTNING_LIMIT_SAT,
    check_approval,
    check_customer,
    check_invoice_timing,
    check_new_limit,
    check_within_limit,
    invoice_terms,
    settlement,
)
from tests.conftest import DAY

KEY = bytes(range(1, 33))


def node_status(
    state: LightningInvoiceState, paid_msat: int = 0, settled_minute: int | None = None
) -> NodeInvoiceStatus:
    return NodeInvoiceStatus(
        payment_hash="00" * 32,
        state=state,
        value_msat=25_000_000,
        amount_paid_msat=paid_msat,
        created_at=DAY,
        expiry_seconds=600,
        settled_at=None
        if settled_minute is None
        else DAY + timedelta(minutes=settled_minute),
    )


def test_a_regular_customer_may_pay_over_lightning() -> None:
    check_customer(CustomerKind.REGULAR)


def test_a_new_customer_is_refused_with_the_reason_and_the_alternative() -> None:
    with pytest.raises(PaymentError, match=r"regular customers only.*on-chain"):
        check_customer(CustomerKind.NEW)


def test_an_invoice_that_fills_the_limit_exactly_is_allowed() -> None:
    check_within_limit(limit_sat=100_000, open_sat=75_000, amount_sat=25_000)


def test_an_invoice_over_the_limit_is_refused_with_the_numbers() -> None:
    with pytest.raises(
        PaymentError,
        match=r"25,000 sat would bring .* to 100,001 sat, over their limit of "
        r"100,000 sat \(75,001 sat already open\)",
    ):
        check_within_limit(limit_sat=100_000, open_sat=75_001, amount_sat=25_000)


def test_a_zero_amount_is_refused_before_any_node_is_asked() -> None:
    with pytest.raises(PaymentError, match="positive amount"):
        check_within_limit(limit_sat=100_000, open_sat=0, amount_sat=0)


def test_the_wanted_expiry_is_kept_when_the_deadline_is_further() -> None:
    terms = invoice_terms(
        now=DAY, deadline=DAY + timedelta(hours=2), wanted=timedelta(hours=1)
    )

    assert terms.expiry_seconds == 3600
    assert terms.expires_at == DAY + timedelta(hours=1)
    assert not terms.clamped


def test_the_expiry_is_clamped_to_the_deadline_and_says_so() -> None:
    deadline = DAY + timedelta(minutes=20, seconds=30, microseconds=500)

    terms = invoice_terms(now=DAY, deadline=deadline, wanted=timedelta(hours=1))

    assert terms.clamped
    assert terms.expiry_seconds == 1230
    assert terms.expires_at <= deadline
    assert "shortened from 3600 s to 1230 s" in terms.note


def test_no_invoice_is_opened_after_the_deadline() -> None:
    with pytest.raises(PaymentError, match=r"deadline .* has passed"):
        invoice_terms(now=DAY, deadline=DAY)


def test_no_invoice_is_opened_too_close_to_the_deadline_to_pay() -> None:
    with pytest.raises(PaymentError, match="Only 90 s remain"):
        invoice_terms(now=DAY, deadline=DAY + timedelta(seconds=90))


def _signed(created_minute: int, expiry_seconds: int) -> str:
    return encode_invoice(
        network=Network.REGTEST,
        amount_msat=1_000_000,
        created_at=DAY + timedelta(minutes=created_minute),
        payment_hash=bytes(32),
        payment_secret=bytes(range(32)),
        description="parcel",
        expiry_seconds=expiry_seconds,
        key=KEY,
    )


def test_a_node_invoice_dated_far_from_our_clock_is_refused() -> None:
    decoded = decode_invoice(_signed(30, 600), network=Network.REGTEST)
    terms = invoice_terms(now=DAY, deadline=DAY + timedelta(hours=2))

    with pytest.raises(NodeMisbehaving, match="1800 s from our clock"):
        check_invoice_timing(decoded, now=DAY, terms=terms, node="oslo")


def test_a_node_invoice_outliving_the_deadline_is_refused() -> None:
    decoded = decode_invoice(_signed(0, 7200), network=Network.REGTEST)
    terms = invoice_terms(now=DAY, deadline=DAY + timedelta(minutes=30))

    with pytest.raises(NodeMisbehaving, match="past the order's deadline"):
        check_invoice_timing(decoded, now=DAY, terms=terms, node="oslo")


def test_an_open_or_canceled_invoice_is_no_payment() -> None:
    assert settlement(node_status(LightningInvoiceState.OPEN), now=DAY) is None
    assert settlement(node_status(LightningInvoiceState.CANCELED), now=DAY) is None
    assert settlement(node_status(LightningInvoiceState.ACCEPTED), now=DAY) is None


def test_a_settled_invoice_counts_whole_satoshis_rounded_down_at_settle_time() -> None:
    status = node_status(LightningInvoiceState.SETTLED, 25_000_999, settled_minute=4)

    paid = settlement(status, now=DAY + timedelta(minutes=9))

    assert paid is not None
    assert paid.amount_sat == 25_000
    assert paid.paid_at == DAY + timedelta(minutes=4)


def test_a_settle_time_ahead_of_our_clock_is_taken_as_now() -> None:
    status = node_status(LightningInvoiceState.SETTLED, 25_000_000, settled_minute=9)

    paid = settlement(status, now=DAY + timedelta(minutes=5))

    assert paid is not None
    assert paid.paid_at == DAY + timedelta(minutes=5)


def test_a_limit_change_needs_a_second_person() -> None:
    with pytest.raises(PaymentError, match=r"ops-anna proposed .* someone else"):
        check_approval(proposed_by="ops-anna", approver="ops-anna")


def test_a_limit_change_by_someone_else_is_approvable() -> None:
    check_approval(proposed_by="ops-anna", approver="ops-bjorn")


@pytest.mark.parametrize(
    ("limit", "reason", "message"),
    [
        (-1, "typo", "between 0 and"),
        (MAX_LIGHTNING_LIMIT_SAT + 1, "typo", "between 0 and"),
        (DEFAULT_LIGHTNING_LIMIT_SAT, "same", "already 250,000 sat"),
        (500_000, "  ", "Say why"),
    ],
)
def test_an_unusable_limit_is_refused(limit: int, reason: str, message: str) -> None:
    with pytest.raises(PaymentError, match=message):
        check_new_limit(
            limit_sat=limit, current_sat=DEFAULT_LIGHTNING_LIMIT_SAT, reason=reason
        )
