"""Invoices and the payments seen for them, given a session.

The lifecycle is BTCPay Server's (see ``controlroom.payments.lifecycle`` for
the rules and their table): an invoice is issued with its confirmation
policy, tolerance and windows; payments arrive from the chain tracker
(``controlroom.payments.onchain``, re-exported here) or a Lightning node;
the clock expires invoices and ends their monitoring; what the rules cannot
decide waits in the operator queue for two people to mark it.
"""

from __future__ import annotations

from datetime import datetime, timedelta

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
from controlroom.payments.onchain import (
    confirm_in_block,
    record_conflict,
    see_onchain_payment,
    unconfirm_block,
    update_confirmations,
    watched_addresses,
    watched_outpoints,
)
from controlroom.payments.policy import (
    DEFAULT_TOLERANCE_BP,
    FULL_TOLERANCE_BP,
    MONITORING_MINUTES,
    REQUIRED_CONFIRMATIONS,
    order_class,
)
from controlroom.payments.standing import (
    QueueEntry,
    invoice_verdict,
    operator_queue,
    reassess_invoice,
    restate_payment,
)

__all__ = [
    "QueueEntry",
    "confirm_in_block",
    "expire_invoices",
    "invoice_verdict",
    "issue_invoice",
    "mark_invoice",
    "operator_queue",
    "reassess_invoice",
    "record_confirmations",
    "record_conflict",
    "record_payment",
    "refresh_invoices",
    "see_onchain_payment",
    "unconfirm_block",
    "update_confirmations",
    "watched_addresses",
    "watched_outpoints",
]


def issue_invoice(
    session: Session,
    *,
    parcel: Parcel,
    method: PaymentMethod,
    amount_sat: int,
    created_at: datetime,
    expires_at: datetime,
    actor: str,
    required_confirmations: int | None = None,
    tolerance_bp: int | None = None,
    monitoring_until: datetime | None = None,
    address: str | None = None,
    bolt11: str | None = None,
    payment_hash: str | None = None,
) -> Invoice:
    """Create the invoice a customer pays for a parcel; journal ``InvoiceIssued``.

    Unless given, the confirmations come from the order class of the
    amount, the tolerance is none, and the address is watched for an hour
    after expiry.
    """
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
    tolerance = DEFAULT_TOLERANCE_BP if tolerance_bp is None else tolerance_bp
    if not 0 <= tolerance < FULL_TOLERANCE_BP:
        raise PaymentError(
            f"A tolerance of {tolerance} basis points is not between 0 and "
            f"{FULL_TOLERANCE_BP - 1} (3 % is 300)."
        )
    if required_confirmations is not None and required_confirmations < 0:
        raise PaymentError("Required confirmations cannot be negative.")
    watch_until = monitoring_until or expires_at + timedelta(minutes=MONITORING_MINUTES)
    if watch_until < expires_at:
        raise PaymentError("Monitoring must not end before the invoice expires.")

    kind = order_class(amount_sat)
    required = (
        REQUIRED_CONFIRMATIONS[kind]
        if required_confirmations is None
        else required_confirmations
    )
    invoice = Invoice(
        parcel_id=parcel.id,
        method=method,
        status=InvoiceStatus.NEW,
        amount_sat=amount_sat,
        paid_sat=0,
        required_confirmations=required,
        order_class=kind,
        tolerance_bp=tolerance,
        address=address,
        bolt11=bolt11,
        payment_hash=payment_hash,
        created_at=created_at,
        expires_at=expires_at,
        monitoring_until=watch_until,
        needs_operator=False,
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
            "bolt11": bolt11,
            "payment_hash": payment_hash,
            "expires_at": expires_at,
            "monitoring_until": watch_until,
            "order_class": kind,
            "required_confirmations": required,
            "tolerance_bp": tolerance,
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
    """Record a payment seen for an invoice; journal ``PaymentSeen``.

    A Lightning payment settled by its node is final at once, with no
    confirmation. An on-chain one is refused if its output is already
    recorded; the tracker uses the idempotent :func:`see_onchain_payment`.
    """
    if amount_sat <= 0:
        raise PaymentError(f"A payment must be positive, not {amount_sat} sat.")
    if invoice.method is PaymentMethod.ONCHAIN:
        if txid is None or vout is None:
            raise PaymentError("An on-chain payment needs its txid and output index.")
        if session.scalar(
            select(Payment.id).where(Payment.txid == txid, Payment.vout == vout)
        ):
            raise PaymentError(f"The payment {txid}:{vout} is already recorded.")
        return see_onchain_payment(
            session,
            invoice=invoice,
            txid=txid,
            vout=vout,
            amount_sat=amount_sat,
            spends=(),
            signals_rbf=False,
            seen_at=seen_at,
            actor=actor,
        )

    if payment_hash is not None and session.scalar(
        select(Payment.id).where(
            Payment.invoice_id == invoice.id, Payment.payment_hash == payment_hash
        )
    ):
        raise PaymentError(f"The Lightning payment {payment_hash} is already recorded.")
    payment = Payment(
        invoice=invoice,
        state=PaymentState.CONFIRMED,
        payment_hash=payment_hash,
        amount_sat=amount_sat,
        confirmations=0,
        seen_at=seen_at,
        confirmed_at=seen_at,
        signals_rbf=False,
    )
    session.add(payment)
    session.flush()
    append_event(
        session,
        kind="PaymentSeen",
        subject=invoice.subject,
        actor=actor,
        occurred_at=seen_at,
        payload={
            "payment": payment.id,
            "method": PaymentMethod.LIGHTNING,
            "amount_sat": amount_sat,
            "payment_hash": payment_hash,
            "state": payment.state,
        },
    )
    reassess_invoice(session, invoice=invoice, at=seen_at, actor=actor)
    return payment


def record_confirmations(
    session: Session,
    *,
    payment: Payment,
    confirmations: int,
    at: datetime,
    actor: str,
) -> None:
    """Set a payment's depth as a source that counts it reports it.

    For sources that give a count rather than blocks (an explorer's
    ``confirmations`` field, the demo's simulated chain); the tracker uses
    :func:`confirm_in_block` and :func:`update_confirmations`.
    """
    if confirmations < 0:
        raise PaymentError("Confirmations cannot be negative.")
    if confirmations == payment.confirmations:
        return
    invoice = payment.invoice

    payment.confirmations = confirmations
    restate_payment(payment, at=at)
    append_event(
        session,
        kind="PaymentConfirmed",
        subject=invoice.subject,
        actor=actor,
        occurred_at=at,
        payload={
            "payment": payment.id,
            "confirmations": confirmations,
            "state": payment.state,
        },
    )
    reassess_invoice(session, invoice=invoice, at=at, actor=actor)


def expire_invoices(session: Session, *, now: datetime, actor: str) -> int:
    """Expire every invoice not paid in full by its expiry; return how many."""
    due = session.scalars(
        select(Invoice)
        .where(Invoice.status == InvoiceStatus.NEW, Invoice.expires_at <= now)
        .order_by(Invoice.id)
    ).all()
    moved = 0
    for invoice in due:
        verdict = reassess_invoice(session, invoice=invoice, at=now, actor=actor)
        moved += verdict.status is not InvoiceStatus.NEW
    return moved


def refresh_invoices(session: Session, *, now: datetime, actor: str) -> None:
    """Apply the clock: expire invoices, end monitoring windows.

    An invoice paid in full but still unconfirmed when its monitoring window
    closes becomes Invalid; once the window is closed the tracker stops
    watching its address (``InvoiceMonitoringEnded``).
    """
    expire_invoices(session, now=now, actor=actor)
    waiting = session.scalars(
        select(Invoice)
        .where(
            Invoice.status == InvoiceStatus.PROCESSING,
            Invoice.monitoring_until <= now,
        )
        .order_by(Invoice.id)
    ).all()
    for invoice in waiting:
        reassess_invoice(session, invoice=invoice, at=now, actor=actor)

    closing = session.scalars(
        select(Invoice)
        .where(
            Invoice.address.is_not(None),
            Invoice.monitoring_ended_at.is_(None),
            Invoice.monitoring_until <= now,
        )
        .order_by(Invoice.id)
    ).all()
    for invoice in closing:
        invoice.monitoring_ended_at = now
        append_event(
            session,
            kind="InvoiceMonitoringEnded",
            subject=invoice.subject,
            actor=actor,
            occurred_at=now,
            payload={"parcel": invoice.parcel_id, "address": invoice.address},
        )


def mark_invoice(
    session: Session,
    *,
    invoice: Invoice,
    status: InvoiceStatus,
    first_actor: str,
    second_actor: str,
    reason: str,
    at: datetime,
    request: int | None = None,
) -> None:
    """Settle or invalidate an invoice by hand; two different people must agree.

    Marking moves trust (a parcel ships on it), so, as BTCPay Server's
    "Mark as settled" does, it sets the exception ``Marked``; here it also
    needs a second person, and both names land in the journal. Marking an
    invoice in the operator queue with the status it has is how a person
    says they have dealt with it (refunded an overpayment, accepted a
    reorged settlement). ``request`` is the approved proposal, if one
    (:mod:`controlroom.payments.marking`).
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
    if invoice.status is status and not invoice.needs_operator:
        raise PaymentError(f"The invoice is already {status.value}.")

    invoice.status = status
    invoice.exception = InvoiceException.MARKED
    invoice.needs_operator = False
    if status is InvoiceStatus.SETTLED:
        invoice.settled_at = invoice.settled_at or at
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
            "request": request,
        },
    )
