"""Who may pay over Lightning, how much, for how long: rules with no I/O.

A Lightning invoice is settled the moment the node says so, with no block to
wait for, so it is offered only to regular customers and only up to a limit
per customer: the open, unsettled Lightning invoices of a customer plus the
new one must stay within it. Changing a customer's limit moves trust, so one
person proposes it and a different person approves it. An invoice never
outlives the order's payment deadline; a payment the node reports after the
invoice expired is still matched by its payment hash and recorded as paid
late, never dropped.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from controlroom.errors import NodeMisbehaving, PaymentError
from controlroom.orders.models import CustomerKind
from controlroom.payments import bolt11
from controlroom.payments.lightning.node import (
    LightningInvoiceState,
    NodeInvoiceStatus,
)

DEFAULT_LIGHTNING_LIMIT_SAT = 250_000  # ten parcels at the demo's prices
MAX_LIGHTNING_LIMIT_SAT = 10_000_000  # 0.1 BTC: more is a typo, not trust
DEFAULT_LIGHTNING_EXPIRY = timedelta(hours=1)
# Less than this and a customer cannot open a wallet, scan and pay in time.
MIN_LIGHTNING_EXPIRY = timedelta(minutes=2)
# How far the node's invoice timestamp may stray from our clock.
MAX_NODE_CLOCK_SKEW = timedelta(minutes=5)
# How long after expiry an invoice is still looked up (its monitoring
# window), so a late payment the node accepted is matched by its hash.
LIGHTNING_MONITORING = timedelta(hours=24)


@dataclass(frozen=True)
class InvoiceTerms:
    """How long a new Lightning invoice stays payable, and why."""

    expiry_seconds: int
    expires_at: datetime
    clamped: bool
    note: str


@dataclass(frozen=True)
class Settlement:
    """A payment the node settled: whole satoshis and when it was paid."""

    amount_sat: int
    paid_at: datetime


def check_customer(kind: CustomerKind) -> None:
    """Refuse Lightning to anyone but a regular customer, saying why."""
    if kind is not CustomerKind.REGULAR:
        raise PaymentError(
            "Lightning is offered to regular customers only: a Lightning payment "
            "is final at once and cannot be checked on the chain. Offer this "
            f"{kind.value} customer an on-chain invoice."
        )


def check_within_limit(*, limit_sat: int, open_sat: int, amount_sat: int) -> None:
    """Refuse an invoice that would take the customer's open total over the limit."""
    if amount_sat <= 0:
        raise PaymentError(
            f"A Lightning invoice must ask for a positive amount, not {amount_sat}."
        )
    total = open_sat + amount_sat
    if total > limit_sat:
        raise PaymentError(
            f"This invoice of {amount_sat:,} sat would bring the customer's open "
            f"Lightning invoices to {total:,} sat, over their limit of "
            f"{limit_sat:,} sat ({open_sat:,} sat already open). Offer an "
            "on-chain invoice, or wait until the open ones are paid or expire."
        )


def invoice_terms(
    *, now: datetime, deadline: datetime, wanted: timedelta = DEFAULT_LIGHTNING_EXPIRY
) -> InvoiceTerms:
    """Return the invoice's expiry: ``wanted``, clamped to the payment deadline."""
    left = deadline - now
    if left <= timedelta(0):
        raise PaymentError(
            f"The order's payment deadline ({deadline:%Y-%m-%d %H:%M} UTC) has "
            "passed; no invoice can be opened for it. Agree a new deadline first."
        )
    if left < MIN_LIGHTNING_EXPIRY:
        raise PaymentError(
            f"Only {int(left.total_seconds())} s remain before the order's payment "
            f"deadline, less than the {int(MIN_LIGHTNING_EXPIRY.total_seconds())} s "
            "a customer needs to pay; agree a new deadline first."
        )
    if wanted <= left:
        seconds = int(wanted.total_seconds())
        return InvoiceTerms(
            seconds, now + timedelta(seconds=seconds), False, f"valid for {seconds} s"
        )
    # Whole seconds, rounded down: BOLT 11 expiry is an integer of seconds
    # and the invoice must not outlive the deadline by a fraction.
    seconds = int(left.total_seconds())
    return InvoiceTerms(
        expiry_seconds=seconds,
        expires_at=now + timedelta(seconds=seconds),
        clamped=True,
        note=(
            f"expiry shortened from {int(wanted.total_seconds())} s to {seconds} s "
            f"so it ends by the order's payment deadline "
            f"({deadline:%Y-%m-%d %H:%M:%S} UTC)"
        ),
    )


def check_invoice_timing(
    decoded: bolt11.Invoice, *, now: datetime, terms: InvoiceTerms, node: str
) -> None:
    """Refuse a node invoice whose clock or expiry would break the deadline."""
    skew = abs(decoded.created_at - now)
    if skew > MAX_NODE_CLOCK_SKEW:
        raise NodeMisbehaving(
            f"The Lightning node {node!r} dated its invoice "
            f"{decoded.created_at:%Y-%m-%d %H:%M:%S} UTC, "
            f"{int(skew.total_seconds())} s from our clock; its expiry cannot be "
            "trusted. Fix the node's clock.",
            node=node,
        )
    if decoded.expires_at > terms.expires_at + MAX_NODE_CLOCK_SKEW:
        raise NodeMisbehaving(
            f"The Lightning node {node!r} made an invoice that stays payable past "
            "the order's deadline; it was not stored or shown.",
            node=node,
        )


def settlement(status: NodeInvoiceStatus, *, now: datetime) -> Settlement | None:
    """Return the payment a settled node invoice stands for, else None.

    Millisatoshis are rounded down: we never count more than we received.
    The node's settle time is used (so a payment made in time is not late
    because we looked late) but never one after ``now``.
    """
    if status.state is not LightningInvoiceState.SETTLED:
        return None
    paid_at = status.settled_at or now
    return Settlement(
        amount_sat=status.amount_paid_msat // 1000, paid_at=min(paid_at, now)
    )


def check_new_limit(*, limit_sat: int, current_sat: int, reason: str) -> None:
    """Refuse a limit that is negative, absurd, unchanged or unexplained."""
    if not 0 <= limit_sat <= MAX_LIGHTNING_LIMIT_SAT:
        raise PaymentError(
            f"A Lightning limit must be between 0 and {MAX_LIGHTNING_LIMIT_SAT:,} "
            f"sat, not {limit_sat:,}."
        )
    if limit_sat == current_sat:
        raise PaymentError(f"The customer's limit is already {limit_sat:,} sat.")
    if not reason.strip():
        raise PaymentError("Say why the customer's Lightning limit should change.")


def check_approval(*, proposed_by: str, approver: str) -> None:
    """Refuse an approval by the person who proposed the change."""
    if not approver or approver == proposed_by:
        raise PaymentError(
            f"{proposed_by} proposed this limit change, so someone else must "
            "approve it: a limit moves trust and needs two people."
        )
