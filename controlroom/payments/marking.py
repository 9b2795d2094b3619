"""Settling or invalidating an invoice by hand: one proposes, another approves.

The operator queue holds the invoices no rule may decide alone (money on an
expired invoice, an overpayment, a reorged settlement). A person proposes
what to do and why; a second, different person approves, and only then
does :func:`controlroom.payments.service.mark_invoice` run with both names.
Every step is journalled.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from controlroom.errors import PaymentError
from controlroom.journal import append_event
from controlroom.payments.models import (
    Invoice,
    InvoiceStatus,
    MarkRequest,
    MarkRequestStatus,
)
from controlroom.payments.private_material import refuse_private_material
from controlroom.payments.service import mark_invoice

MARK_TARGETS = (InvoiceStatus.SETTLED, InvoiceStatus.INVALID)


def propose_mark(
    session: Session,
    *,
    invoice: Invoice,
    target: InvoiceStatus,
    reason: str,
    actor: str,
    at: datetime,
) -> MarkRequest:
    """Propose settling or invalidating an invoice; journal the proposal."""
    if target not in MARK_TARGETS:
        raise PaymentError("An invoice can only be marked settled or invalid.")
    refuse_private_material(reason)
    reason = reason.strip()
    if not reason:
        raise PaymentError(
            "Say why (what was paid, what the customer agreed), so the second "
            "person can check it."
        )
    pending = session.scalar(
        select(MarkRequest.proposed_by).where(
            MarkRequest.invoice_id == invoice.id,
            MarkRequest.status == MarkRequestStatus.PROPOSED,
        )
    )
    if pending is not None:
        raise PaymentError(
            f"{pending} already proposed what to do with this invoice; approve "
            "or reject that first."
        )

    request = MarkRequest(
        invoice=invoice,
        target=target,
        reason=reason[:300],
        status=MarkRequestStatus.PROPOSED,
        proposed_by=actor,
        proposed_at=at,
    )
    session.add(request)
    session.flush()
    append_event(
        session,
        kind="InvoiceMarkProposed",
        subject=invoice.subject,
        actor=actor,
        occurred_at=at,
        payload={"request": request.id, "target": target, "reason": request.reason},
    )
    return request


def approve_mark(
    session: Session, *, request: MarkRequest, actor: str, at: datetime
) -> None:
    """Approve a proposal as the second person; the invoice is then marked."""
    _check_pending(request)
    if actor == request.proposed_by:
        raise PaymentError(
            f"{actor} proposed this, so someone else must approve it: marking "
            "an invoice by hand needs two people."
        )

    request.status = MarkRequestStatus.APPROVED
    request.decided_by = actor
    request.decided_at = at
    mark_invoice(
        session,
        invoice=request.invoice,
        status=request.target,
        first_actor=request.proposed_by,
        second_actor=actor,
        reason=request.reason,
        at=at,
        request=request.id,
    )


def reject_mark(
    session: Session, *, request: MarkRequest, actor: str, reason: str, at: datetime
) -> None:
    """Reject (or, by its proposer, withdraw) a proposal; journal it."""
    _check_pending(request)
    refuse_private_material(reason)
    if not reason.strip():
        raise PaymentError("Say why the proposal is rejected.")

    request.status = MarkRequestStatus.REJECTED
    request.decided_by = actor
    request.decided_at = at
    append_event(
        session,
        kind="InvoiceMarkRejected",
        subject=request.invoice.subject,
        actor=actor,
        occurred_at=at,
        payload={"request": request.id, "reason": reason.strip()[:300]},
    )


def pending_marks(session: Session) -> list[MarkRequest]:
    """Return the proposals waiting for a second person, oldest first."""
    query = (
        select(MarkRequest)
        .where(MarkRequest.status == MarkRequestStatus.PROPOSED)
        .order_by(MarkRequest.proposed_at, MarkRequest.id)
    )
    return list(session.scalars(query))


def _check_pending(request: MarkRequest) -> None:
    if request.status is not MarkRequestStatus.PROPOSED:
        raise PaymentError(
            f"This proposal was already {request.status.value} by {request.decided_by}."
        )
