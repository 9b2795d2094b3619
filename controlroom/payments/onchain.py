"""What the chain tracker tells the invoices: payments seen, mined, reorged, lost.

The tracker (``controlroom.payments.tracking``) reads blocks and mempools
from the payment nodes and calls these functions; they record the fact, move
each payment's state and reassess the invoices it touches. Conflicts are
found by inputs: two transactions that spend one outpoint cannot both be
mined, so the newcomer either replaces a payment (an RBF fee bump that still
pays the invoice, BIP 125) or double-spends it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from controlroom.errors import PaymentError
from controlroom.journal import append_event
from controlroom.payments.lifecycle import NOT_COUNTED, payment_state
from controlroom.payments.models import (
    Invoice,
    Payment,
    PaymentMethod,
    PaymentSpend,
    PaymentState,
)
from controlroom.payments.policy import TRACKED_DEPTH
from controlroom.payments.standing import (
    facts_of,
    reassess_invoice,
    restate_payment,
)

COUNTED = tuple(state for state in PaymentState if state not in NOT_COUNTED)


def watched_addresses(session: Session) -> dict[str, int]:
    """Return each address still monitored, with its invoice's id.

    An address that several monitored invoices share (a static fallback
    wallet's single reused address) is left out: which order a payment to
    it belongs to is a person's call on the Wallet watch screen, made from
    amount and time, never the tracker's guess.
    """
    rows = session.execute(
        select(Invoice.address, Invoice.id).where(
            Invoice.method == PaymentMethod.ONCHAIN,
            Invoice.address.is_not(None),
            Invoice.monitoring_ended_at.is_(None),
        )
    )
    watched: dict[str, int] = {}
    shared: set[str] = set()
    for address, invoice_id in rows:
        if not address:
            continue
        if address in watched:
            shared.add(address)
        watched[address] = invoice_id
    return {a: i for a, i in watched.items() if a not in shared}


def watched_outpoints(session: Session) -> dict[str, int]:
    """Return each outpoint a not yet buried payment spent, with its id.

    A transaction spending one of these conflicts with that payment. Mined
    payments stay here until ``TRACKED_DEPTH``, so a conflict that arrives
    with a reorg is still caught.
    """
    rows = session.execute(
        select(PaymentSpend.outpoint, Payment.id)
        .join(Payment, Payment.id == PaymentSpend.payment_id)
        .where(
            Payment.state.in_(COUNTED),
            Payment.confirmations < TRACKED_DEPTH,
        )
        .order_by(Payment.id)
    )
    return {outpoint: payment_id for outpoint, payment_id in rows}


def see_onchain_payment(
    session: Session,
    *,
    invoice: Invoice,
    txid: str,
    vout: int,
    amount_sat: int,
    spends: Sequence[str],
    signals_rbf: bool,
    seen_at: datetime,
    actor: str,
) -> Payment:
    """Record a transaction output paying an invoice; journal ``PaymentSeen``.

    Seeing the same output again changes nothing. A payment whose inputs an
    earlier one spent takes its place: replaced if it pays the same invoice
    at least as much (an RBF fee bump counts once), double-spent otherwise.
    """
    existing = session.scalar(
        select(Payment).where(Payment.txid == txid, Payment.vout == vout)
    )
    if existing is not None:
        return existing
    if invoice.method is not PaymentMethod.ONCHAIN:
        raise PaymentError(
            f"Invoice {invoice.id} is paid over Lightning; the on-chain "
            f"output {txid}:{vout} cannot pay it."
        )
    _check_output(txid, vout, amount_sat)

    payment = Payment(
        invoice=invoice,
        state=PaymentState.SEEN,
        txid=txid,
        vout=vout,
        amount_sat=amount_sat,
        confirmations=0,
        seen_at=seen_at,
        signals_rbf=signals_rbf,
        spends=[PaymentSpend(outpoint=o) for o in sorted(set(spends))],
    )
    session.add(payment)
    session.flush()
    restate_payment(payment, at=seen_at)
    append_event(
        session,
        kind="PaymentSeen",
        subject=invoice.subject,
        actor=actor,
        occurred_at=seen_at,
        payload={
            "payment": payment.id,
            "method": PaymentMethod.ONCHAIN,
            "txid": txid,
            "vout": vout,
            "amount_sat": amount_sat,
            "spends": [spend.outpoint for spend in payment.spends],
            "signals_rbf": signals_rbf,
            "state": payment.state,
        },
    )

    touched = _supersede(
        session, winner=payment, spends=spends, at=seen_at, actor=actor
    )
    for other in _invoices({invoice, *touched}):
        reassess_invoice(session, invoice=other, at=seen_at, actor=actor)
    return payment


def record_conflict(
    session: Session,
    *,
    txid: str,
    spends: Sequence[str],
    at: datetime,
    actor: str,
) -> list[Payment]:
    """Mark the payments whose inputs ``txid`` spent as double-spent.

    ``txid`` pays none of our invoices; each payment it conflicts with is
    journalled once as ``PaymentDoubleSpent`` and its invoice reassessed.
    """
    lost = _conflicting(session, txid=txid, spends=spends)
    for payment in lost:
        _lose(session, payment, PaymentState.DOUBLE_SPENT, by=txid, at=at, actor=actor)
    for invoice in _invoices(p.invoice for p in lost):
        reassess_invoice(session, invoice=invoice, at=at, actor=actor)
    return lost


def confirm_in_block(
    session: Session,
    *,
    txid: str,
    block_height: int,
    block_hash: str,
    at: datetime,
    actor: str,
) -> list[Payment]:
    """Record that ``txid`` was mined; journal ``PaymentConfirmed`` per output.

    A payment once replaced or double-spent comes back if it is the one
    mined after all (a miner may take the original over its fee bump), and
    whatever conflicts with it then loses instead.
    """
    payments = session.scalars(
        select(Payment).where(Payment.txid == txid).order_by(Payment.id)
    ).all()
    fresh = [p for p in payments if p.block_hash != block_hash]
    touched: set[Invoice] = set()
    for payment in fresh:
        payment.block_height = block_height
        payment.block_hash = block_hash
        payment.confirmations = 1
        payment.replaced_by = None
        payment.double_spent_by = None
        if payment.state in NOT_COUNTED:
            payment.state = PaymentState.SEEN
        restate_payment(payment, at=at)
        append_event(
            session,
            kind="PaymentConfirmed",
            subject=payment.invoice.subject,
            actor=actor,
            occurred_at=at,
            payload={
                "payment": payment.id,
                "txid": txid,
                "vout": payment.vout,
                "block_height": block_height,
                "block_hash": block_hash,
                "confirmations": payment.confirmations,
                "state": payment.state,
            },
        )
        touched.add(payment.invoice)
        outpoints = [spend.outpoint for spend in payment.spends]
        touched |= _supersede(
            session, winner=payment, spends=outpoints, at=at, actor=actor
        )

    for invoice in _invoices(touched):
        reassess_invoice(session, invoice=invoice, at=at, actor=actor)
    return list(fresh)


def unconfirm_block(
    session: Session, *, block_hash: str, at: datetime, actor: str
) -> list[Payment]:
    """Take a block that left the active chain off its payments.

    Each payment goes back to waiting (``reorged``) with no confirmations,
    journalled as ``PaymentReorged``. A Settled invoice stays Settled, as
    BTCPay keeps it, but goes into the operator queue: a parcel may have
    shipped on money that is, for now, not in the chain.
    """
    payments = session.scalars(
        select(Payment).where(Payment.block_hash == block_hash).order_by(Payment.id)
    ).all()
    for payment in payments:
        height = payment.block_height
        payment.block_height = None
        payment.block_hash = None
        payment.confirmations = 0
        payment.state = PaymentState.REORGED
        payment.state = payment_state(
            facts_of(payment), required=payment.invoice.required_confirmations
        )
        append_event(
            session,
            kind="PaymentReorged",
            subject=payment.invoice.subject,
            actor=actor,
            occurred_at=at,
            payload={
                "payment": payment.id,
                "txid": payment.txid,
                "vout": payment.vout,
                "block_height": height,
                "block_hash": block_hash,
                "state": payment.state,
            },
        )
    for invoice in _invoices(p.invoice for p in payments):
        reassess_invoice(session, invoice=invoice, at=at, actor=actor)
    return list(payments)


def update_confirmations(
    session: Session, *, tip_height: int, at: datetime, actor: str
) -> None:
    """Count every mined payment's confirmations from the active tip.

    Depth is derived from the tip, so only a payment that reaches its
    policy's depth is journalled (``PaymentConfirmed``); counting stops at
    ``TRACKED_DEPTH``.
    """
    payments = session.scalars(
        select(Payment)
        .where(
            Payment.block_height.is_not(None),
            Payment.block_height <= tip_height,
            Payment.state.in_(COUNTED),
            Payment.confirmations < TRACKED_DEPTH,
        )
        .order_by(Payment.id)
    ).all()
    touched: set[Invoice] = set()
    for payment in payments:
        depth = tip_height - (payment.block_height or tip_height) + 1
        if depth == payment.confirmations:
            continue
        payment.confirmations = depth
        if restate_payment(payment, at=at):
            append_event(
                session,
                kind="PaymentConfirmed",
                subject=payment.invoice.subject,
                actor=actor,
                occurred_at=at,
                payload={
                    "payment": payment.id,
                    "txid": payment.txid,
                    "vout": payment.vout,
                    "confirmations": depth,
                    "state": payment.state,
                },
            )
            touched.add(payment.invoice)
    for invoice in _invoices(touched):
        reassess_invoice(session, invoice=invoice, at=at, actor=actor)


def _check_output(txid: str, vout: int, amount_sat: int) -> None:
    if len(txid) != 64 or any(c not in "0123456789abcdef" for c in txid):
        raise PaymentError(f"{txid!r} is not a txid: 64 lower-case hex digits.")
    if vout < 0:
        raise PaymentError(f"An output index cannot be negative ({vout}).")
    if amount_sat <= 0:
        raise PaymentError(f"A payment must be positive, not {amount_sat} sat.")


def _conflicting(
    session: Session, *, txid: str, spends: Iterable[str]
) -> list[Payment]:
    outpoints = sorted(set(spends))
    if not outpoints:
        return []
    return list(
        session.scalars(
            select(Payment)
            .join(PaymentSpend, PaymentSpend.payment_id == Payment.id)
            .where(
                PaymentSpend.outpoint.in_(outpoints),
                Payment.txid != txid,
                Payment.state.in_(COUNTED),
            )
            .distinct()
            .order_by(Payment.id)
        )
    )


def _supersede(
    session: Session,
    *,
    winner: Payment,
    spends: Iterable[str],
    at: datetime,
    actor: str,
) -> set[Invoice]:
    """Let ``winner`` take the place of every payment it conflicts with."""
    txid = winner.txid or ""
    touched: set[Invoice] = set()
    for loser in _conflicting(session, txid=txid, spends=spends):
        same = (
            loser.invoice_id == winner.invoice_id
            and winner.amount_sat >= loser.amount_sat
        )
        state = PaymentState.REPLACED if same else PaymentState.DOUBLE_SPENT
        _lose(session, loser, state, by=txid, at=at, actor=actor)
        touched.add(loser.invoice)
    return touched


def _lose(
    session: Session,
    payment: Payment,
    state: PaymentState,
    *,
    by: str,
    at: datetime,
    actor: str,
) -> None:
    payment.state = state
    payment.block_height = None
    payment.block_hash = None
    payment.confirmations = 0
    if state is PaymentState.REPLACED:
        payment.replaced_by = by
        kind = "PaymentReplaced"
    else:
        payment.double_spent_by = by
        kind = "PaymentDoubleSpent"
    append_event(
        session,
        kind=kind,
        subject=payment.invoice.subject,
        actor=actor,
        occurred_at=at,
        payload={
            "payment": payment.id,
            "txid": payment.txid,
            "vout": payment.vout,
            "amount_sat": payment.amount_sat,
            "by": by,
        },
    )


def _invoices(invoices: Iterable[Invoice]) -> list[Invoice]:
    # One reassessment per invoice, in a stable order, so the journal reads
    # the same on every run.
    return sorted(set(invoices), key=lambda invoice: invoice.id)
