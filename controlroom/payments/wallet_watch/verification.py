"""Observed payments matched to orders: proposed, confirmed, verified.

A proposal comes from the rules in :mod:`.matching` or from a person who
matches by hand. One person confirms it; a second, different person
verifies it. When the verified payments of an order cover what it asks,
the invoice is marked settled with both names
(:func:`controlroom.payments.service.mark_invoice`), so a parcel ships on
the word of two people, both in the journal.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from controlroom.errors import PaymentError
from controlroom.journal import append_event
from controlroom.orders.models import Parcel
from controlroom.payments.models import Invoice, InvoiceStatus, PaymentMethod
from controlroom.payments.service import mark_invoice
from controlroom.payments.wallet_watch.matching import (
    MatchRule,
    ObservedPayment,
    OpenInvoice,
    Outcome,
    propose_matches,
)
from controlroom.payments.wallet_watch.models import (
    FallbackWallet,
    IssuedAddress,
    MatchProposal,
    MatchStatus,
    Observation,
    WalletKind,
)

logger = logging.getLogger(__name__)

# Invoices still waiting for money: the rules propose only for these.
WAITING = (InvoiceStatus.NEW, InvoiceStatus.EXPIRED, InvoiceStatus.PROCESSING)
_ACTIVE = (MatchStatus.PROPOSED, MatchStatus.CONFIRMED, MatchStatus.VERIFIED)
_AGREED = (MatchStatus.CONFIRMED, MatchStatus.VERIFIED)


def match_outcome(session: Session) -> Outcome:
    """Run the rules over every observation that has no match in progress."""
    taken = select(MatchProposal.observation_id).where(
        MatchProposal.status.in_(_ACTIVE)
    )
    observations = session.scalars(
        select(Observation)
        .where(Observation.id.not_in(taken))
        .order_by(Observation.observed_at, Observation.id)
    ).all()
    addresses = {o.address for o in observations}
    refused = session.execute(
        select(MatchProposal.observation_id, MatchProposal.invoice_id).where(
            MatchProposal.status == MatchStatus.REJECTED
        )
    ).all()
    return propose_matches(
        [
            ObservedPayment(o.id, o.address, o.amount_sat, o.observed_at)
            for o in observations
        ],
        _open_invoices(session, addresses),
        refused=[(o, i) for o, i in refused],
    )


def propose_matches_now(
    session: Session, *, at: datetime, actor: str
) -> list[MatchProposal]:
    """Store the rules' new proposals; journal ``WalletMatchProposed`` each."""
    made = []
    for proposal in match_outcome(session).proposals:
        match = MatchProposal(
            observation_id=proposal.observation_id,
            invoice_id=proposal.invoice_id,
            rule=proposal.rule,
            confidence=proposal.words[:400],
            status=MatchStatus.PROPOSED,
            proposed_at=at,
            proposed_by=actor,
        )
        session.add(match)
        session.flush()
        _journal(session, match, "WalletMatchProposed", actor, at)
        made.append(match)
    return made


def match_by_hand(
    session: Session,
    *,
    observation: Observation,
    invoice: Invoice,
    reason: str,
    actor: str,
    at: datetime,
) -> MatchProposal:
    """Match an observation to an order by hand; it counts as confirmed."""
    if not reason.strip():
        raise PaymentError(
            "Say why this payment is this order's (e.g. the customer sent the "
            "txid); the second person reads it before verifying."
        )
    if invoice.method is not PaymentMethod.ONCHAIN:
        raise PaymentError("Only an on-chain order can be paid to a wallet.")
    _refuse_second_match(session, observation)
    existing = session.scalar(
        select(MatchProposal).where(
            MatchProposal.observation_id == observation.id,
            MatchProposal.invoice_id == invoice.id,
        )
    )
    words = f"by hand: {reason.strip()}"
    if invoice.address != observation.address:
        words += f" (paid to {observation.address}, not the order's address)"
    match = existing or MatchProposal(
        observation_id=observation.id,
        invoice_id=invoice.id,
        proposed_at=at,
        proposed_by=actor,
    )
    match.rule = MatchRule.BY_HAND
    match.confidence = words[:400]
    match.status = MatchStatus.CONFIRMED
    match.confirmed_by, match.confirmed_at = actor, at
    match.rejected_by = match.rejected_at = match.reject_reason = None
    session.add(match)
    session.flush()
    _journal(session, match, "WalletMatchedByHand", actor, at, first=actor)
    return match


def confirm_match(
    session: Session, *, match: MatchProposal, actor: str, at: datetime
) -> None:
    """Confirm a proposal as the first person; journal ``WalletMatchConfirmed``."""
    if match.status is not MatchStatus.PROPOSED:
        raise PaymentError(
            f"This match is {match.status.value}; only a proposal can be confirmed."
        )
    _refuse_second_match(session, match.observation)

    match.status = MatchStatus.CONFIRMED
    match.confirmed_by, match.confirmed_at = actor, at
    _journal(session, match, "WalletMatchConfirmed", actor, at, first=actor)


def verify_match(
    session: Session, *, match: MatchProposal, actor: str, at: datetime
) -> bool:
    """Verify a confirmed match as a second person; return whether it settled.

    The invoice is marked settled, with both names, once its verified
    payments cover the amount; a partial payment waits for its top-up.
    """
    if match.status is not MatchStatus.CONFIRMED:
        raise PaymentError(
            f"This match is {match.status.value}; a match is verified after "
            "someone confirmed it."
        )
    if actor == match.confirmed_by:
        raise PaymentError(
            "You confirmed this match yourself; a second, different person must "
            "verify it. Ask a colleague in ops or management."
        )

    match.status = MatchStatus.VERIFIED
    match.verified_by, match.verified_at = actor, at
    first = match.confirmed_by or ""
    _journal(
        session, match, "WalletMatchVerified", actor, at, first=first, second=actor
    )

    invoice = match.invoice
    verified = _verified_sat(session, invoice.id)
    if invoice.status is InvoiceStatus.SETTLED or verified < invoice.amount_sat:
        return False
    mark_invoice(
        session,
        invoice=invoice,
        status=InvoiceStatus.SETTLED,
        first_actor=first,
        second_actor=actor,
        reason=(
            f"static-wallet payment verified by hand: {verified:,} sat of "
            f"{invoice.amount_sat:,} sat seen at {match.observation.address}"
        ),
        at=at,
    )
    return True


def reject_match(
    session: Session, *, match: MatchProposal, reason: str, actor: str, at: datetime
) -> None:
    """Reject a proposal or a confirmed match, saying why."""
    if match.status is MatchStatus.VERIFIED:
        raise PaymentError(
            "This match is verified by two people; it cannot be rejected. If it "
            "was wrong, mark the invoice invalid with a second person."
        )
    if match.status is MatchStatus.REJECTED:
        raise PaymentError("This match is already rejected.")
    if not reason.strip():
        raise PaymentError("Say why the match is wrong, so the next person knows.")

    match.status = MatchStatus.REJECTED
    match.rejected_by, match.rejected_at = actor, at
    match.reject_reason = reason.strip()[:240]
    _journal(session, match, "WalletMatchRejected", actor, at, reason=reason.strip())


def _refuse_second_match(session: Session, observation: Observation) -> None:
    other = session.scalar(
        select(MatchProposal).where(
            MatchProposal.observation_id == observation.id,
            MatchProposal.status.in_(_AGREED),
        )
    )
    if other is not None:
        code = session.scalar(
            select(Parcel.code).join(Invoice).where(Invoice.id == other.invoice_id)
        )
        raise PaymentError(
            f"This payment is already matched to {code}; one payment pays one "
            "order. Reject that match first if it is wrong."
        )


def _verified_sat(session: Session, invoice_id: int) -> int:
    total = session.scalar(
        select(func.coalesce(func.sum(Observation.amount_sat), 0))
        .join(MatchProposal, MatchProposal.observation_id == Observation.id)
        .where(
            MatchProposal.invoice_id == invoice_id,
            MatchProposal.status == MatchStatus.VERIFIED,
        )
    )
    return int(total or 0)


def _open_invoices(session: Session, addresses: set[str]) -> list[OpenInvoice]:
    if not addresses:
        return []
    rows = session.execute(
        select(Invoice, Parcel.code)
        .join(Parcel, Parcel.id == Invoice.parcel_id)
        .where(
            Invoice.method == PaymentMethod.ONCHAIN,
            Invoice.address.in_(addresses),
            Invoice.status.in_(WAITING),
        )
    ).all()
    ids = [invoice.id for invoice, _ in rows]
    shared = set(
        session.scalars(
            select(IssuedAddress.invoice_id)
            .join(FallbackWallet)
            .where(
                IssuedAddress.invoice_id.in_(ids),
                FallbackWallet.kind == WalletKind.SINGLE_ADDRESS,
            )
        )
    )
    earlier: dict[int, list[int]] = defaultdict(list)
    for invoice_id, amount in session.execute(
        select(MatchProposal.invoice_id, Observation.amount_sat)
        .join(Observation, Observation.id == MatchProposal.observation_id)
        .where(MatchProposal.invoice_id.in_(ids), MatchProposal.status.in_(_ACTIVE))
        .order_by(Observation.observed_at, Observation.id)
    ):
        earlier[invoice_id].append(amount)
    return [
        OpenInvoice(
            invoice_id=invoice.id,
            label=code,
            address=invoice.address or "",
            amount_sat=invoice.amount_sat,
            created_at=invoice.created_at,
            expires_at=invoice.expires_at,
            shared_address=invoice.id in shared,
            earlier_parts=tuple(earlier[invoice.id]),
        )
        for invoice, code in rows
    ]


def _journal(
    session: Session,
    match: MatchProposal,
    kind: str,
    actor: str,
    at: datetime,
    **extra: str,
) -> None:
    observation = match.observation
    append_event(
        session,
        kind=kind,
        subject=f"invoice:{match.invoice_id}",
        actor=actor,
        occurred_at=at,
        payload={
            "match": match.id,
            "observation": observation.id,
            "address": observation.address,
            "amount_sat": observation.amount_sat,
            "txid": observation.txid,
            "rule": match.rule,
            "confidence": match.confidence,
            **extra,
        },
    )
    logger.info(
        "wallet match %s match=%s invoice=%s actor=%s",
        kind,
        match.id,
        match.invoice_id,
        actor,
    )
