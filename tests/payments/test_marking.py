"""Marking an invoice by hand from the queue: one proposes, another approves."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from controlroom.errors import PaymentError
from controlroom.journal import JournalEvent
from controlroom.payments.marking import (
    approve_mark,
    pending_marks,
    propose_mark,
    reject_mark,
)
from controlroom.payments.models import (
    Invoice,
    InvoiceException,
    InvoiceStatus,
    PaymentMethod,
)
from controlroom.payments.service import issue_invoice, record_payment
from tests.conftest import DAY
from tests.orders.world import customers, order


@pytest.fixture
def late_invoice(session: Session) -> Invoice:
    """A Lightning invoice paid after it expired: Expired (PaidLate), queued."""
    invoice = issue_invoice(
        session,
        parcel=order(session, *customers(session)),
        method=PaymentMethod.LIGHTNING,
        amount_sat=25_000,
        created_at=DAY,
        expires_at=DAY + timedelta(minutes=15),
        actor="webshop",
        payment_hash="11" * 32,
    )
    record_payment(
        session,
        invoice=invoice,
        amount_sat=25_000,
        seen_at=DAY + timedelta(minutes=20),
        actor="lightning-poller",
        payment_hash="11" * 32,
    )
    assert invoice.status is InvoiceStatus.EXPIRED
    assert invoice.needs_operator
    return invoice


def test_a_second_person_approves_and_the_invoice_is_marked_settled(
    session: Session, late_invoice: Invoice
) -> None:
    request = propose_mark(
        session,
        invoice=late_invoice,
        target=InvoiceStatus.SETTLED,
        reason="Paid in full five minutes late; customer still wants it",
        actor="olga",
        at=DAY + timedelta(minutes=30),
    )

    approve_mark(session, request=request, actor="mats", at=DAY + timedelta(hours=1))

    assert late_invoice.status is InvoiceStatus.SETTLED
    assert late_invoice.exception is InvoiceException.MARKED
    assert not late_invoice.needs_operator
    marked = session.scalars(
        select(JournalEvent).where(JournalEvent.kind == "InvoiceMarked")
    ).one()
    names = json.loads(marked.payload)
    assert (names["first"], names["second"]) == ("olga", "mats")
    assert pending_marks(session) == []


def test_the_proposer_cannot_approve_their_own_proposal(
    session: Session, late_invoice: Invoice
) -> None:
    request = propose_mark(
        session,
        invoice=late_invoice,
        target=InvoiceStatus.SETTLED,
        reason="Paid late",
        actor="olga",
        at=DAY,
    )

    with pytest.raises(PaymentError, match="someone else must approve"):
        approve_mark(session, request=request, actor="olga", at=DAY)

    assert late_invoice.status is InvoiceStatus.EXPIRED


def test_a_second_proposal_waits_for_the_first_to_be_decided(
    session: Session, late_invoice: Invoice
) -> None:
    propose_mark(
        session,
        invoice=late_invoice,
        target=InvoiceStatus.SETTLED,
        reason="Paid late",
        actor="olga",
        at=DAY,
    )

    with pytest.raises(PaymentError, match="already proposed"):
        propose_mark(
            session,
            invoice=late_invoice,
            target=InvoiceStatus.INVALID,
            reason="Refund instead",
            actor="mats",
            at=DAY,
        )


def test_a_rejected_proposal_leaves_the_invoice_in_the_queue(
    session: Session, late_invoice: Invoice
) -> None:
    request = propose_mark(
        session,
        invoice=late_invoice,
        target=InvoiceStatus.SETTLED,
        reason="Paid late",
        actor="olga",
        at=DAY,
    )

    with pytest.raises(PaymentError, match="Say why"):
        reject_mark(session, request=request, actor="mats", reason=" ", at=DAY)
    reject_mark(session, request=request, actor="mats", reason="Refund it", at=DAY)

    assert late_invoice.status is InvoiceStatus.EXPIRED
    assert late_invoice.needs_operator
    with pytest.raises(PaymentError, match="already rejected by mats"):
        approve_mark(session, request=request, actor="mats", at=DAY)


@pytest.mark.parametrize(
    ("target", "reason", "message"),
    [
        (InvoiceStatus.PROCESSING, "why", "only be marked settled or invalid"),
        (InvoiceStatus.SETTLED, "   ", "Say why"),
    ],
)
def test_a_proposal_without_a_decision_or_reason_is_refused(
    session: Session,
    late_invoice: Invoice,
    target: InvoiceStatus,
    reason: str,
    message: str,
) -> None:
    with pytest.raises(PaymentError, match=message):
        propose_mark(
            session,
            invoice=late_invoice,
            target=target,
            reason=reason,
            actor="olga",
            at=DAY,
        )


def test_a_private_key_pasted_as_a_rejection_reason_is_refused_unstored(
    session: Session, late_invoice: Invoice
) -> None:
    wif = "KwdMAjGmerYanjeui5SHS7JkmpZvVipYvB2LJGU1ZxJwYvP98617"
    request = propose_mark(
        session,
        invoice=late_invoice,
        target=InvoiceStatus.SETTLED,
        reason="Paid late",
        actor="olga",
        at=DAY,
    )

    with pytest.raises(PaymentError, match="never takes private keys"):
        reject_mark(session, request=request, actor="mats", reason=wif, at=DAY)

    assert pending_marks(session) == [request]
