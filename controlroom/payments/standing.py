"""An invoice's standing: derived again from its facts, journalled when it moves.

Every service that changes a fact (a payment seen, mined, reorged, replaced,
double-spent, or the clock passing expiry) ends by calling
:func:`reassess_invoice`, which asks the lifecycle rules for the status and
writes one event if, and only if, the status moved. What the rules cannot
decide lands in the operator queue.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from controlroom.journal import append_event
from controlroom.payments.lifecycle import (
    InvoiceTerms,
    InvoiceVerdict,
    PaymentFacts,
    QueueReason,
    assess_invoice,
    derive_invoice,
    payment_state,
)
from controlroom.payments.models import (
    Invoice,
    InvoiceException,
    InvoiceStatus,
    Payment,
    PaymentMethod,
    PaymentState,
)


@dataclass(frozen=True)
class QueueEntry:
    """An invoice a person must look at, and why."""

    invoice_id: int
    parcel_id: int
    status: InvoiceStatus
    exception: InvoiceException | None
    amount_sat: int
    paid_sat: int
    due_sat: int
    reasons: tuple[QueueReason, ...]


STATUS_EVENTS = {
    InvoiceStatus.NEW: "InvoiceReopened",
    InvoiceStatus.PROCESSING: "InvoiceProcessing",
    InvoiceStatus.SETTLED: "InvoiceSettled",
    InvoiceStatus.EXPIRED: "InvoiceExpired",
    InvoiceStatus.INVALID: "InvoiceInvalid",
}


def terms_of(invoice: Invoice) -> InvoiceTerms:
    """Return what the invoice asked, as the lifecycle rules read it."""
    return InvoiceTerms(
        amount_sat=invoice.amount_sat,
        created_at=invoice.created_at,
        expires_at=invoice.expires_at,
        monitoring_until=invoice.monitoring_until,
        tolerance_bp=invoice.tolerance_bp,
        required_confirmations=invoice.required_confirmations,
    )


def facts_of(payment: Payment) -> PaymentFacts:
    """Return what is known of a payment, as the lifecycle rules read it."""
    return PaymentFacts(
        amount_sat=payment.amount_sat,
        seen_at=payment.seen_at,
        state=payment.state,
        confirmations=payment.confirmations,
        signals_rbf=payment.signals_rbf,
        offchain=payment.invoice.method is PaymentMethod.LIGHTNING,
    )


def restate_payment(payment: Payment, *, at: datetime) -> bool:
    """Derive a payment's state from its depth again; return whether it moved."""
    before = payment.state
    payment.state = payment_state(
        facts_of(payment), required=payment.invoice.required_confirmations
    )
    if payment.state is PaymentState.CONFIRMED and payment.confirmed_at is None:
        payment.confirmed_at = at
    return payment.state is not before


def invoice_verdict(invoice: Invoice) -> InvoiceVerdict:
    """Return the invoice's sums and queue reasons in its stored status."""
    return assess_invoice(
        terms_of(invoice),
        [facts_of(p) for p in invoice.payments],
        status=invoice.status,
        marked=invoice.exception is InvoiceException.MARKED,
    )


def reassess_invoice(
    session: Session, *, invoice: Invoice, at: datetime, actor: str
) -> InvoiceVerdict:
    """Derive the invoice's status at ``at`` again; journal it if it moved."""
    verdict = derive_invoice(
        terms_of(invoice),
        [facts_of(p) for p in invoice.payments],
        now=at,
        previous=invoice.status,
        marked=invoice.exception is InvoiceException.MARKED,
    )
    moved = verdict.status is not invoice.status

    invoice.status = verdict.status
    invoice.exception = verdict.exception
    invoice.paid_sat = verdict.paid_sat
    invoice.needs_operator = verdict.needs_operator
    if moved and verdict.status is InvoiceStatus.SETTLED:
        invoice.settled_at = at
    if not moved:
        return verdict

    append_event(
        session,
        kind=STATUS_EVENTS[verdict.status],
        subject=invoice.subject,
        actor=actor,
        occurred_at=at,
        payload={
            "parcel": invoice.parcel_id,
            "exception": verdict.exception,
            "paid_sat": verdict.paid_sat,
            "due_sat": verdict.due_sat,
            "queue": list(verdict.queue),
        },
    )
    return verdict


def operator_queue(session: Session) -> list[QueueEntry]:
    """Return the invoices waiting for a person, oldest first, with reasons."""
    invoices = session.scalars(
        select(Invoice).where(Invoice.needs_operator).order_by(Invoice.id)
    ).all()
    entries = []
    for invoice in invoices:
        verdict = invoice_verdict(invoice)
        entries.append(
            QueueEntry(
                invoice_id=invoice.id,
                parcel_id=invoice.parcel_id,
                status=invoice.status,
                exception=invoice.exception,
                amount_sat=invoice.amount_sat,
                paid_sat=verdict.paid_sat,
                due_sat=verdict.due_sat,
                reasons=verdict.queue,
            )
        )
    return entries
