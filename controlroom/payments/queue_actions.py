"""What ops and management may do with the operator queue from the Payments screen.

Each function checks the role, opens its own transaction (a page is an
entry point) and hands over to :mod:`controlroom.payments.marking`. Each
returns the sentence the screen shows when it worked.
"""

from __future__ import annotations

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from controlroom.auth.models import Role
from controlroom.clock import operating_now
from controlroom.errors import PaymentError
from controlroom.orders.models import Parcel
from controlroom.payments.marking import approve_mark, propose_mark, reject_mark
from controlroom.payments.models import Invoice, InvoiceStatus, MarkRequest
from controlroom.session_frame import SignedInUser, require_role

QUEUE_HANDLERS = frozenset({Role.OPS, Role.MANAGEMENT})
TARGET_WORDS = {
    InvoiceStatus.SETTLED: "settled (the parcel may ship)",
    InvoiceStatus.INVALID: "invalid (the parcel does not ship)",
}


def propose(
    engine: Engine,
    *,
    user: SignedInUser,
    code: str,
    target: InvoiceStatus,
    reason: str,
) -> str:
    """Propose marking the invoice of package ``code``; a second person approves."""
    require_role(user, QUEUE_HANDLERS, "propose marking an invoice")
    with Session(engine) as session, session.begin():
        invoice = session.scalar(
            select(Invoice)
            .join(Parcel, Invoice.parcel_id == Parcel.id)
            .where(Parcel.code == code)
            .order_by(Invoice.id.desc())
        )
        if invoice is None:
            raise PaymentError(f"There is no invoice for package {code}.")
        propose_mark(
            session,
            invoice=invoice,
            target=target,
            reason=reason,
            actor=user.username,
            at=operating_now(session),
        )
        return f"Proposed: {code} {TARGET_WORDS[target]}. Someone else must approve it."


def approve(engine: Engine, *, user: SignedInUser, request_id: int) -> str:
    """Approve a proposal as the second person; the invoice is marked."""
    require_role(user, QUEUE_HANDLERS, "approve marking an invoice")
    with Session(engine) as session, session.begin():
        request = _request(session, request_id)
        approve_mark(
            session, request=request, actor=user.username, at=operating_now(session)
        )
        code = request.invoice.parcel.code
        return f"Approved: {code} is {TARGET_WORDS[request.target]}."


def reject(engine: Engine, *, user: SignedInUser, request_id: int, reason: str) -> str:
    """Reject a proposal (its proposer may withdraw it this way)."""
    require_role(user, QUEUE_HANDLERS, "reject marking an invoice")
    with Session(engine) as session, session.begin():
        reject_mark(
            session,
            request=_request(session, request_id),
            actor=user.username,
            reason=reason,
            at=operating_now(session),
        )
        return f"Rejected proposal #{request_id}."


def _request(session: Session, request_id: int) -> MarkRequest:
    request = session.get(MarkRequest, request_id)
    if request is None:
        raise PaymentError(f"There is no proposal #{request_id}.")
    return request
