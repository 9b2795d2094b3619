"""The invoice lifecycle as rules: from terms, payments and the time, a status.

The states are BTCPay Server's, which merchants already know. Nothing here
is stepped from one state to the next: the status is derived again from the
facts (what was asked, which payments count, how deep each is buried, what
time it is) every time a fact changes. A reorg that takes confirmations away
therefore takes the status back with it, except where a person or a parcel
already acted on it (the sticky states below).

==========  =====================================================  ===========
status      when                                                   exception
==========  =====================================================  ===========
New         not paid in full, before expiry                        PaidPartial
                                                                   if some sat
Processing  paid in full on time (within the tolerance), some      PaidOver if
            payment short of the confirmations its policy asks     too much
Settled     paid in full on time, every on-time payment confirmed  PaidOver if
            enough; sticky: a reorg or double spend afterwards     too much
            flags it for the operator instead of undoing it
Expired     not paid in full on time, after expiry; payments       PaidPartial
            after expiry never fulfil it (PaidLate), though their  or PaidLate
            confirmations are still counted
Invalid     paid in full on time but not confirmed by the end of   as above
            the monitoring window, or an on-time payment was
            double-spent and expiry has passed; sticky
(marked)    a person settled or invalidated it by hand             Marked
==========  =====================================================  ===========

A replaced payment (an RBF fee bump: same inputs, new txid) and a
double-spent one no longer count; the replacement counts once, in its place.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from controlroom.payments.policy import confirmations_needed, shortfall_forgiven_sat


class InvoiceStatus(StrEnum):
    """BTCPay Server's invoice states, which merchants already know."""

    NEW = "new"
    PROCESSING = "processing"
    SETTLED = "settled"
    EXPIRED = "expired"
    INVALID = "invalid"


class InvoiceException(StrEnum):
    """Why an invoice's status is not the whole story (BTCPay's names)."""

    PAID_PARTIAL = "paid_partial"
    PAID_OVER = "paid_over"
    PAID_LATE = "paid_late"
    MARKED = "marked"


class PaymentState(StrEnum):
    """Where one payment stands.

    ``seen``: counted, not yet as deep as its invoice's policy asks;
    ``confirmed``: as deep as the policy asks (for a 0-conf policy, at once;
    a Lightning payment when its node settles it); ``reorged``: its block
    left the active chain, so it waits to be mined again; ``replaced``: an
    RBF fee bump took its place; ``double_spent``: a transaction that does
    not pay the invoice spent its inputs.
    """

    SEEN = "seen"
    CONFIRMED = "confirmed"
    REORGED = "reorged"
    REPLACED = "replaced"
    DOUBLE_SPENT = "double_spent"


class QueueReason(StrEnum):
    """Why an invoice waits for a person in the operator queue."""

    EXPIRED_WITH_MONEY = "expired_with_money"
    INVALID = "invalid"
    PAID_OVER = "paid_over"
    SETTLED_UNBACKED = "settled_unbacked"


NOT_COUNTED = (PaymentState.REPLACED, PaymentState.DOUBLE_SPENT)


@dataclass(frozen=True)
class InvoiceTerms:
    """What the customer was asked: amount, windows, tolerance, policy."""

    amount_sat: int
    created_at: datetime
    expires_at: datetime
    monitoring_until: datetime
    tolerance_bp: int
    required_confirmations: int


@dataclass(frozen=True)
class PaymentFacts:
    """What is known of one payment; ``offchain`` is a settled Lightning one."""

    amount_sat: int
    seen_at: datetime
    state: PaymentState
    confirmations: int
    signals_rbf: bool = False
    offchain: bool = False


@dataclass(frozen=True)
class InvoiceVerdict:
    """An invoice's status as the facts have it, and what it asks of people."""

    status: InvoiceStatus
    exception: InvoiceException | None
    paid_sat: int
    due_sat: int
    queue: tuple[QueueReason, ...]

    @property
    def needs_operator(self) -> bool:
        """Whether a person must look at this invoice."""
        return bool(self.queue)


def payment_counts(payment: PaymentFacts) -> bool:
    """Return whether a payment's sats count towards its invoice."""
    return payment.state not in NOT_COUNTED


def payment_is_final(payment: PaymentFacts, *, required: int) -> bool:
    """Return whether a payment is as deep as its invoice's policy asks."""
    if not payment_counts(payment):
        return False
    if payment.offchain:
        return True
    needed = confirmations_needed(required, signals_rbf=payment.signals_rbf)
    return payment.confirmations >= needed


def payment_state(payment: PaymentFacts, *, required: int) -> PaymentState:
    """Return a payment's state after its confirmations changed."""
    if not payment_counts(payment):
        return payment.state
    if payment_is_final(payment, required=required):
        return PaymentState.CONFIRMED
    if payment.state is PaymentState.REORGED and payment.confirmations == 0:
        return PaymentState.REORGED
    return PaymentState.SEEN


def derive_invoice(
    terms: InvoiceTerms,
    payments: Sequence[PaymentFacts],
    *,
    now: datetime,
    previous: InvoiceStatus = InvoiceStatus.NEW,
    marked: bool = False,
) -> InvoiceVerdict:
    """Return the invoice's status, exception, sums and operator queue reasons.

    ``previous`` is the status it had; Settled and Invalid are kept once
    reached (BTCPay keeps them too), and a ``marked`` invoice keeps the
    status a person gave it.
    """
    status = previous
    if not marked:
        tally = _Tally.of(terms, payments)
        status = _status(terms, payments, now, previous, tally)
    return assess_invoice(terms, payments, status=status, marked=marked)


def assess_invoice(
    terms: InvoiceTerms,
    payments: Sequence[PaymentFacts],
    *,
    status: InvoiceStatus,
    marked: bool = False,
) -> InvoiceVerdict:
    """Return exception, sums and queue reasons for an invoice in ``status``."""
    tally = _Tally.of(terms, payments)
    due = 0 if tally.in_full else max(0, terms.amount_sat - tally.paid)
    if marked:
        return InvoiceVerdict(status, InvoiceException.MARKED, tally.paid, due, ())

    exception = _exception(terms, status, tally)
    queue = _queue(status, exception, tally)
    return InvoiceVerdict(status, exception, tally.paid, due, queue)


@dataclass(frozen=True)
class _Tally:
    paid: int
    late: bool
    in_full: bool
    final: bool

    @classmethod
    def of(cls, terms: InvoiceTerms, payments: Sequence[PaymentFacts]) -> _Tally:
        counted = [p for p in payments if payment_counts(p)]
        on_time = [p for p in counted if p.seen_at <= terms.expires_at]
        paid_on_time = sum(p.amount_sat for p in on_time)
        forgiven = shortfall_forgiven_sat(terms.amount_sat, terms.tolerance_bp)
        in_full = paid_on_time > 0 and paid_on_time >= terms.amount_sat - forgiven
        # Late payments never fulfil an invoice, so they cannot hold it up.
        required = terms.required_confirmations
        final = in_full and all(payment_is_final(p, required=required) for p in on_time)
        return cls(
            paid=sum(p.amount_sat for p in counted),
            late=len(on_time) < len(counted),
            in_full=in_full,
            final=final,
        )


def _status(
    terms: InvoiceTerms,
    payments: Sequence[PaymentFacts],
    now: datetime,
    previous: InvoiceStatus,
    tally: _Tally,
) -> InvoiceStatus:
    # A parcel may already have shipped on Settled, and a person may already
    # have been told about Invalid: neither is undone without one.
    if previous in (InvoiceStatus.SETTLED, InvoiceStatus.INVALID):
        return previous
    if tally.in_full and tally.final:
        return InvoiceStatus.SETTLED
    if tally.in_full:
        # BTCPay's monitoring expiration: a payment that has not confirmed
        # by then is not trusted to ever confirm.
        if now >= terms.monitoring_until:
            return InvoiceStatus.INVALID
        return InvoiceStatus.PROCESSING
    if now < terms.expires_at:
        return InvoiceStatus.NEW
    withdrawn = any(
        p.state is PaymentState.DOUBLE_SPENT and p.seen_at <= terms.expires_at
        for p in payments
    )
    return InvoiceStatus.INVALID if withdrawn else InvoiceStatus.EXPIRED


def _exception(
    terms: InvoiceTerms, status: InvoiceStatus, tally: _Tally
) -> InvoiceException | None:
    if tally.late and not tally.in_full:
        return InvoiceException.PAID_LATE
    if tally.paid > terms.amount_sat:
        return InvoiceException.PAID_OVER
    if tally.paid > 0 and not tally.in_full and status is not InvoiceStatus.SETTLED:
        return InvoiceException.PAID_PARTIAL
    return None


def _queue(
    status: InvoiceStatus, exception: InvoiceException | None, tally: _Tally
) -> tuple[QueueReason, ...]:
    reasons = []
    if status is InvoiceStatus.EXPIRED and tally.paid > 0:
        reasons.append(QueueReason.EXPIRED_WITH_MONEY)
    if status is InvoiceStatus.INVALID:
        reasons.append(QueueReason.INVALID)
    if exception is InvoiceException.PAID_OVER:
        reasons.append(QueueReason.PAID_OVER)
    if status is InvoiceStatus.SETTLED and not tally.final:
        reasons.append(QueueReason.SETTLED_UNBACKED)
    return tuple(reasons)
