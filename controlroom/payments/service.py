"""Invoices and the payments seen for them, given a session.

This is the invoice lifecycle the rest of the control room needs today:
issue, see a payment, count confirmations, settle, expire. The states are
BTCPay Server's (New, Processing, Settled, Expired, Invalid, with the
exception marks PaidPartial, PaidOver and PaidLate).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from controlroom.errors import PaymentError
from controlroom.journal import append_event
from controlroom.orders.models import Parcel
from controlroom.payments.models import (
    Invoice,
    InvoiceException,
    InvoiceStatus,
    Payment,
    PaymentMethod,
    PaymentState,
)


def issue_invoice(
    session: Session,
    *,
    parcel: Parcel,
    method: PaymentMethod,
    amount_sat: int,
    created_at: datetime,
    expires_at: datetime,
    actor: str,
    required_confirmations: int = 1,
    address: str | None = None,
    bolt11: str | None = None,
    payment_hash: str | None = None,
) -> Invoice:
    """Create the invoice a customer pays for a parcel; journal ``InvoiceIssued``."""
    if amount_sat <= 0:
        raise PaymentError(
            f"An invoice must ask for a positive amount, not {amount_sat}."
        )
    if expires_at <= created_at:
        raise PaymentError("An invoice must expire after it is created.")
    if method is PaymentMethod.ONCHAIN and not address:
        raise PaymentError("An on-chain invoice needs an address.")
    if method is PaymentMethod.LIGHTNING and not payment_hash:
        raise PaymentError("A Lightning invoice needs its payment hash.")

    invoice = Invoice(
        parcel_id=parcel.id,
        method=method,
        status=InvoiceStatus.NEW,
        amount_sat=amount_sat,
        paid_sat=0,
        required_confirmations=required_confirmations,
        address=address,
        bolt11=bolt11,
        payment_hash=payment_hash,
        created_at=created_at,
        expires_at=expires_at,
    )
    session.add(invoice)
    session.flush()
    append_event(
        session,
        kind="InvoiceIssued",
        subject=invoice.subject,
        actor=actor,
        occurred_at=created_at,
        payload={
            "parcel": parcel.id,
            "method": method,
            "amount_sat": amount_sat,
            "address": address,
            "payment_hash": payment_hash,
            "expires_at": expires_at,
            "required_confirmations": required_confirmations,
        },
    )
    return invoice


def record_payment(
    session: Session,
    *,
    invoice: Invoice,
    amount_sat: int,
    seen_at: datetime,
    actor: str,
    txid: str | None = None,
    vout: int | None = None,
    payment_hash: str | None = None,
) -> Payment:
    """Record a payment seen for an invoice; journal ``PaymentSeen``."""
    if amount_sat <= 0:
        raise PaymentError(f"A payment must be positive, not {amount_sat} sat.")
    if invoice.method is PaymentMethod.ONCHAIN and (txid is None or vout is None):
        raise PaymentError("An on-chain payment needs its txid and output index.")
    if txid is not None and session.scalar(
        select(Payment.id).where(Payment.txid == txid, Payment.vout == vout)
    ):
        raise PaymentError(f"The payment {txid}:{vout} is already recorded.")

    # Through the relationship, so ``invoice.payments`` includes it at once:
    # settling checks that every payment of the invoice is confirmed.
    payment = Payment(
        invoice=invoice,
        state=PaymentState.SEEN,
        txid=txid,
        vout=vout,
        payment_hash=payment_hash,
        amount_sat=amount_sat,
        confirmations=0,
        seen_at=seen_at,
    )
    session.add(payment)
    invoice.paid_sat += amount_sat
    late = seen_at > invoice.expires_at
    if invoice.status in (InvoiceStatus.NEW, InvoiceStatus.EXPIRED):
        invoice.status = InvoiceStatus.PROCESSING
    if late:
        invoice.exception = InvoiceException.PAID_LATE
    elif invoice.paid_sat < invoice.amount_sat:
        invoice.exception = InvoiceException.PAID_PARTIAL
    elif invoice.paid_sat > invoice.amount_sat:
        invoice.exception = InvoiceException.PAID_OVER
    else:
        invoice.exception = None
    session.flush()

    append_event(
        session,
        kind="PaymentSeen",
        subject=invoice.subject,
        actor=actor,
        occurred_at=seen_at,
        payload={
            "payment": payment.id,
            "amount_sat": amount_sat,
            "txid": txid,
            "vout": vout,
            "payment_hash": payment_hash,
            "paid_sat": invoice.paid_sat,
        },
    )
    if invoice.method is PaymentMethod.LIGHTNING:
        # A settled Lightning payment is final without an on-chain confirmation.
        payment.state = PaymentState.CONFIRMED
        payment.confirmed_at = seen_at
        _settle_if_complete(session, invoice=invoice, at=seen_at, actor=actor)
    return payment


def record_confirmations(
    session: Session,
    *,
    payment: Payment,
    confirmations: int,
    at: datetime,
    actor: str,
) -> None:
    """Update a payment's confirmation count and settle its invoice when due."""
    if confirmations < 0:
        raise PaymentError("Confirmations cannot be negative.")
    if confirmations == payment.confirmations:
        return
    invoice = payment.invoice
    payment.confirmations = confirmations
    if confirmations >= invoice.required_confirmations:
        payment.state = PaymentState.CONFIRMED
        payment.confirmed_at = payment.confirmed_at or at
    append_event(
        session,
        kind="PaymentConfirmed",
        subject=invoice.subject,
        actor=actor,
        occurred_at=at,
        payload={"payment": payment.id, "confirmations": confirmations},
    )
    _settle_if_complete(session, invoice=invoice, at=at, actor=actor)


def _settle_if_complete(
    session: Session, *, invoice: Invoice, at: datetime, actor: str
) -> None:
    if invoice.status is not InvoiceStatus.PROCESSING:
        return
    if invoice.paid_sat < invoice.amount_sat:
        return
    if any(p.state is not PaymentState.CONFIRMED for p in invoice.payments):
        return
    invoice.status = InvoiceStatus.SETTLED
    invoice.settled_at = at
    append_event(
        session,
        kind="InvoiceSettled",
        subject=invoice.subject,
        actor=actor,
        occurred_at=at,
        payload={"parcel": invoice.parcel_id, "paid_sat": invoice.paid_sat},
    )


def expire_invoices(session: Session, *, now: datetime, actor: str) -> int:
    """Expire every unpaid invoice past its expiry; return how many."""
    due = session.scalars(
        select(Invoice).where(
            Invoice.status == InvoiceStatus.NEW, Invoice.expires_at <= now
        )
    ).all()
    for invoice in due:
        invoice.status = InvoiceStatus.EXPIRED
        append_event(
            session,
            kind="InvoiceExpired",
            subject=invoice.subject,
            actor=actor,
            occurred_at=now,
            payload={"parcel": invoice.parcel_id},
        )
    return len(due)


def mark_invoice(
    session: Session,
    *,
    invoice: Invoice,
    status: InvoiceStatus,
    first_actor: str,
    second_actor: str,
    reason: str,
    at: datetime,
) -> None:
    """Settle or invalidate an invoice by hand; two different people must agree.

    Marking moves trust (a parcel ships on it), so, as BTCPay Server's
    "Mark as settled" does, it sets the exception ``Marked``; here it also
    needs a second person, and both names land in the journal.
    """
    if status not in (InvoiceStatus.SETTLED, InvoiceStatus.INVALID):
        raise PaymentError("An invoice can only be marked settled or invalid.")
    if not first_actor or not second_actor or first_actor == second_actor:
        raise PaymentError(
            "Marking an invoice needs two different people: the second "
            "confirmation must come from someone else."
        )
    if not reason.strip():
        raise PaymentError("Say why the invoice is marked by hand.")
    if invoice.status is status:
        raise PaymentError(f"The invoice is already {status.value}.")

    invoice.status = status
    invoice.exception = InvoiceException.MARKED
    if status is InvoiceStatus.SETTLED:
        invoice.settled_at = at
    append_event(
        session,
        kind="InvoiceMarked",
        subject=invoice.subject,
        actor=second_actor,
        occurred_at=at,
        payload={
            "parcel": invoice.parcel_id,
            "status": status,
            "first": first_actor,
            "second": second_actor,
            "reason": reason.strip(),
        },
    )
