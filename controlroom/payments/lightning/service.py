"""Lightning invoices and limits, given a session and a node.

Opening an invoice reads the customer's limit and open invoices, asks the
node, checks what it signed and stores the invoice through the invoice
lifecycle (:mod:`controlroom.payments.service`), all in the caller's
transaction: if the node is down or lies, nothing is written. Polling looks
every watched invoice up on the node that issued it and records what was
settled, once; a node that fails or lies half-way stops the poll, the
caller's transaction rolls back and the next poll starts over, so nothing is
counted twice. The customer is the parcel's sender, who orders and pays.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from controlroom.errors import InvoiceUnknownToNode, PaymentError
from controlroom.journal import append_event
from controlroom.orders.models import Parcel, Party, PartyKind
from controlroom.payments import service as invoices
from controlroom.payments.lightning import rules
from controlroom.payments.lightning.models import (
    LightningInvoice,
    LightningLimitChange,
    LimitChangeStatus,
)
from controlroom.payments.lightning.node import LightningInvoiceState, LightningNode
from controlroom.payments.models import (
    Invoice,
    InvoiceStatus,
    Payment,
    PaymentMethod,
)
from controlroom.payments.private_material import refuse_private_material

logger = logging.getLogger(__name__)

# Invoices a customer may still pay; they count against the limit.
_OPEN_STATUSES = (InvoiceStatus.NEW, InvoiceStatus.PROCESSING)
# Invoices whose payment may still arrive, late included.
_WATCHED_STATUSES = (InvoiceStatus.NEW, InvoiceStatus.PROCESSING, InvoiceStatus.EXPIRED)


@dataclass(frozen=True)
class OpenedInvoice:
    """A stored Lightning invoice, and whether its expiry was shortened."""

    invoice: Invoice
    expiry_clamped: bool
    note: str


@dataclass
class LightningPoll:
    """What one poll of a node found, by invoice id."""

    checked: int = 0
    settled: list[int] = field(default_factory=list)
    paid_late: list[int] = field(default_factory=list)
    unknown_to_node: list[int] = field(default_factory=list)


def lightning_limit(session: Session, *, customer: Party) -> int:
    """Return the customer's Lightning limit in satoshis."""
    query = (
        select(LightningLimitChange.limit_sat)
        .where(
            LightningLimitChange.party_id == customer.id,
            LightningLimitChange.status == LimitChangeStatus.APPROVED,
        )
        .order_by(
            LightningLimitChange.decided_at.desc(), LightningLimitChange.id.desc()
        )
        .limit(1)
    )
    limit = session.scalar(query)
    return rules.DEFAULT_LIGHTNING_LIMIT_SAT if limit is None else limit


def open_lightning_sat(session: Session, *, customer: Party, now: datetime) -> int:
    """Return the total of the customer's open, unsettled Lightning invoices."""
    query = (
        select(func.coalesce(func.sum(Invoice.amount_sat), 0))
        .join(Parcel, Invoice.parcel_id == Parcel.id)
        .where(
            Parcel.sender_id == customer.id,
            Invoice.method == PaymentMethod.LIGHTNING,
            Invoice.status.in_(_OPEN_STATUSES),
            Invoice.expires_at > now,
        )
    )
    return int(session.scalar(query) or 0)


def open_lightning_invoice(
    session: Session,
    *,
    node: LightningNode,
    parcel: Parcel,
    amount_sat: int,
    deadline: datetime,
    now: datetime,
    actor: str,
    expiry: timedelta = rules.DEFAULT_LIGHTNING_EXPIRY,
) -> OpenedInvoice:
    """Ask the node for an invoice for the parcel's sender and store it."""
    customer = parcel.sender
    rules.check_customer(customer.customer_kind)
    terms = rules.invoice_terms(now=now, deadline=deadline, wanted=expiry)
    # Two invoices opened at once for one customer must not both fit under
    # the limit: the customer's row is locked while the total is read.
    session.execute(select(Party.id).where(Party.id == customer.id).with_for_update())
    limit_sat = lightning_limit(session, customer=customer)
    open_sat = open_lightning_sat(session, customer=customer, now=now)
    rules.check_within_limit(
        limit_sat=limit_sat, open_sat=open_sat, amount_sat=amount_sat
    )

    created = node.create_invoice(
        amount_sat=amount_sat,
        memo=f"CryptoPack parcel {parcel.code}",
        expiry_seconds=terms.expiry_seconds,
    )
    rules.check_invoice_timing(
        created.decoded, now=now, terms=terms, node=node.config.key
    )

    invoice = invoices.issue_invoice(
        session,
        parcel=parcel,
        method=PaymentMethod.LIGHTNING,
        amount_sat=amount_sat,
        created_at=now,
        expires_at=terms.expires_at,
        actor=actor,
        required_confirmations=0,
        monitoring_until=terms.expires_at + rules.LIGHTNING_MONITORING,
        bolt11=created.payment_request,
        payment_hash=created.payment_hash,
    )
    session.add(
        LightningInvoice(
            invoice=invoice,
            node_key=node.config.key,
            add_index=created.add_index,
            payee_node_id=created.decoded.payee_node_id,
            expiry_clamped=terms.clamped,
            node_state=LightningInvoiceState.OPEN,
            node_state_at=now,
        )
    )
    append_event(
        session,
        kind="LightningInvoiceOpened",
        subject=invoice.subject,
        actor=actor,
        occurred_at=now,
        payload={
            "node": node.config.key,
            "payment_hash": created.payment_hash,
            "add_index": created.add_index,
            "payee_node_id": created.decoded.payee_node_id,
            "expiry_seconds": terms.expiry_seconds,
            "expiry_clamped": terms.clamped,
            "note": terms.note,
            "limit_sat": limit_sat,
            "open_sat": open_sat + amount_sat,
        },
    )
    return OpenedInvoice(invoice=invoice, expiry_clamped=terms.clamped, note=terms.note)


def poll_lightning_invoices(
    session: Session, *, node: LightningNode, now: datetime, actor: str
) -> LightningPoll:
    """Look up every watched invoice of this node; record each settled payment once."""
    query = (
        select(LightningInvoice)
        .join(LightningInvoice.invoice)
        .where(
            LightningInvoice.node_key == node.config.key,
            Invoice.status.in_(_WATCHED_STATUSES),
            Invoice.monitoring_until >= now,
        )
        .order_by(Invoice.id)
    )
    report = LightningPoll()
    for record in session.scalars(query).all():
        invoice = record.invoice
        if invoice.payment_hash is None:  # pragma: no cover - issue_invoice refuses
            continue
        report.checked += 1
        try:
            status = node.lookup_invoice(invoice.payment_hash)
        except InvoiceUnknownToNode:
            logger.warning(
                "lightning invoice unknown to node node=%s invoice=%s",
                node.config.key,
                invoice.id,
            )
            report.unknown_to_node.append(invoice.id)
            continue

        _note_node_state(
            session, record=record, state=status.state, now=now, actor=actor
        )
        paid = rules.settlement(status, now=now)
        if paid is None or _already_recorded(invoice, invoice.payment_hash):
            continue
        invoices.record_payment(
            session,
            invoice=invoice,
            amount_sat=paid.amount_sat,
            seen_at=paid.paid_at,
            actor=actor,
            payment_hash=invoice.payment_hash,
        )
        if paid.paid_at > invoice.expires_at:
            report.paid_late.append(invoice.id)
        else:
            report.settled.append(invoice.id)
    return report


def _already_recorded(invoice: Invoice, payment_hash: str) -> bool:
    payments: list[Payment] = invoice.payments
    return any(p.payment_hash == payment_hash for p in payments)


def _note_node_state(
    session: Session,
    *,
    record: LightningInvoice,
    state: LightningInvoiceState,
    now: datetime,
    actor: str,
) -> None:
    if record.node_state is state:
        return
    append_event(
        session,
        kind="LightningInvoiceStateChanged",
        subject=f"invoice:{record.invoice_id}",
        actor=actor,
        occurred_at=now,
        payload={"node": record.node_key, "from": record.node_state, "to": state},
    )
    record.node_state = state
    record.node_state_at = now


def propose_limit_change(
    session: Session,
    *,
    customer: Party,
    limit_sat: int,
    reason: str,
    actor: str,
    at: datetime,
) -> LightningLimitChange:
    """Propose a new Lightning limit for a customer; journal the proposal."""
    if customer.kind is not PartyKind.CUSTOMER:
        raise PaymentError("Only customers have a Lightning limit.")
    pending = session.scalar(
        select(LightningLimitChange.id).where(
            LightningLimitChange.party_id == customer.id,
            LightningLimitChange.status == LimitChangeStatus.PROPOSED,
        )
    )
    if pending is not None:
        raise PaymentError(
            f"A limit change for this customer is already waiting (#{pending}); "
            "approve or reject it first."
        )
    refuse_private_material(reason)
    current = lightning_limit(session, customer=customer)
    rules.check_new_limit(limit_sat=limit_sat, current_sat=current, reason=reason)

    change = LightningLimitChange(
        party_id=customer.id,
        limit_sat=limit_sat,
        previous_limit_sat=current,
        reason=reason.strip(),
        status=LimitChangeStatus.PROPOSED,
        proposed_by=actor,
        proposed_at=at,
    )
    session.add(change)
    session.flush()
    append_event(
        session,
        kind="LightningLimitProposed",
        subject=change.subject,
        actor=actor,
        occurred_at=at,
        payload={
            "change": change.id,
            "limit_sat": limit_sat,
            "previous_limit_sat": current,
            "reason": change.reason,
        },
    )
    return change


def approve_limit_change(
    session: Session, *, change: LightningLimitChange, actor: str, at: datetime
) -> None:
    """Approve a proposed limit as a second person; journal the approval."""
    _check_pending(change)
    rules.check_approval(proposed_by=change.proposed_by, approver=actor)

    change.status = LimitChangeStatus.APPROVED
    change.decided_by = actor
    change.decided_at = at
    append_event(
        session,
        kind="LightningLimitApproved",
        subject=change.subject,
        actor=actor,
        occurred_at=at,
        payload={
            "change": change.id,
            "limit_sat": change.limit_sat,
            "previous_limit_sat": change.previous_limit_sat,
            "proposed_by": change.proposed_by,
            "approved_by": actor,
        },
    )


def reject_limit_change(
    session: Session,
    *,
    change: LightningLimitChange,
    actor: str,
    reason: str,
    at: datetime,
) -> None:
    """Reject (or, by its proposer, withdraw) a proposed limit; journal it."""
    _check_pending(change)
    refuse_private_material(reason)
    if not reason.strip():
        raise PaymentError("Say why the limit change is rejected.")

    change.status = LimitChangeStatus.REJECTED
    change.decided_by = actor
    change.decided_at = at
    append_event(
        session,
        kind="LightningLimitRejected",
        subject=change.subject,
        actor=actor,
        occurred_at=at,
        payload={"change": change.id, "reason": reason.strip()},
    )


def pending_limit_changes(session: Session) -> list[LightningLimitChange]:
    """Return the limit changes waiting for a second person, oldest first."""
    query = (
        select(LightningLimitChange)
        .where(LightningLimitChange.status == LimitChangeStatus.PROPOSED)
        .order_by(LightningLimitChange.proposed_at, LightningLimitChange.id)
    )
    return list(session.scalars(query))


def _check_pending(change: LightningLimitChange) -> None:
    if change.status is not LimitChangeStatus.PROPOSED:
        raise PaymentError(
            f"Limit change #{change.id} was already {change.status.value} by "
            f"{change.decided_by}."
        )
