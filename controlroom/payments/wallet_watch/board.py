"""What the Wallet watch screen shows, read in one transaction."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from controlroom.orders.models import Parcel
from controlroom.payments.models import Invoice, PaymentMethod
from controlroom.payments.wallet_watch.gap import GapReport
from controlroom.payments.wallet_watch.matching import payment_sum
from controlroom.payments.wallet_watch.models import (
    FallbackWallet,
    IssuedAddress,
    MatchProposal,
    MatchStatus,
    Observation,
    ObservationSource,
    WalletKind,
)
from controlroom.payments.wallet_watch.service import gap_reports
from controlroom.payments.wallet_watch.verification import WAITING, match_outcome
from controlroom.words import counted

# The screen lists the newest of each; older rows stay in the journal.
SHOWN_ROWS = 200


@dataclass(frozen=True)
class WalletLine:
    wallet_id: int
    name: str
    kind: WalletKind
    network: str
    active: bool
    first_address: str
    issued: int
    gap: GapReport | None


@dataclass(frozen=True)
class IssuedLine:
    wallet: str
    index: int | None
    address: str
    code: str
    amount_sat: int
    invoice_status: str
    issued_at: datetime
    issued_by: str


@dataclass(frozen=True)
class ObservationLine:
    observation_id: int
    address: str
    amount_sat: int
    txid: str | None
    observed_at: datetime
    source: str
    recorded_by: str
    state: str


@dataclass(frozen=True)
class MatchLine:
    match_id: int
    observation_id: int
    code: str
    invoice_amount_sat: int
    amount_sat: int
    address: str
    txid: str | None
    observed_at: datetime
    rule: str
    confidence: str
    status: MatchStatus
    confirmed_by: str | None
    verified_by: str | None
    rejected_by: str | None
    reject_reason: str | None
    decided_at: datetime | None
    # Said when several payments are proposed or matched for one order.
    together: str = ""


@dataclass(frozen=True)
class WalletWatchBoard:
    """Everything the screen draws: wallets, addresses, payments, matches."""

    now: datetime
    wallets: tuple[WalletLine, ...]
    issued: tuple[IssuedLine, ...]
    observations: tuple[ObservationLine, ...]
    open_matches: tuple[MatchLine, ...]
    history: tuple[MatchLine, ...]
    open_orders: dict[int, str]

    @property
    def unmatched(self) -> tuple[ObservationLine, ...]:
        """Observations no match is in progress for."""
        return tuple(o for o in self.observations if o.state.startswith("not"))


def wallet_watch_board(session: Session, *, now: datetime) -> WalletWatchBoard:
    """Read the wallets, issued addresses, observations and matches."""
    gaps = gap_reports(session)
    issued = _issued(session)
    counts: dict[str, int] = {}
    for line in issued:
        counts[line.wallet] = counts.get(line.wallet, 0) + 1
    wallets = tuple(
        WalletLine(
            w.id,
            w.name,
            w.kind,
            w.network.value,
            w.active,
            w.first_address,
            counts.get(w.name, 0),
            gaps.get(w.id),
        )
        for w in session.scalars(select(FallbackWallet).order_by(FallbackWallet.id))
    )
    matches = _matches(session)
    return WalletWatchBoard(
        now=now,
        wallets=wallets,
        issued=issued,
        observations=_observations(session, matches),
        open_matches=tuple(
            m
            for m in matches
            if m.status in (MatchStatus.PROPOSED, MatchStatus.CONFIRMED)
        ),
        history=tuple(
            m
            for m in matches
            if m.status in (MatchStatus.VERIFIED, MatchStatus.REJECTED)
        ),
        open_orders=_open_orders(session),
    )


def _issued(session: Session) -> tuple[IssuedLine, ...]:
    rows = session.execute(
        select(IssuedAddress, FallbackWallet.name, Parcel.code, Invoice)
        .join(FallbackWallet, FallbackWallet.id == IssuedAddress.wallet_id)
        .join(Invoice, Invoice.id == IssuedAddress.invoice_id)
        .join(Parcel, Parcel.id == IssuedAddress.parcel_id)
        .order_by(IssuedAddress.issued_at.desc(), IssuedAddress.id.desc())
        .limit(SHOWN_ROWS)
    ).all()
    return tuple(
        IssuedLine(
            wallet=name,
            index=issued.derivation_index,
            address=issued.address,
            code=code,
            amount_sat=invoice.amount_sat,
            invoice_status=_invoice_words(invoice),
            issued_at=issued.issued_at,
            issued_by=issued.issued_by,
        )
        for issued, name, code, invoice in rows
    )


def _matches(session: Session) -> list[MatchLine]:
    rows = session.execute(
        select(MatchProposal, Observation, Parcel.code, Invoice.amount_sat)
        .join(Observation, Observation.id == MatchProposal.observation_id)
        .join(Invoice, Invoice.id == MatchProposal.invoice_id)
        .join(Parcel, Parcel.id == Invoice.parcel_id)
        .order_by(MatchProposal.proposed_at.desc(), MatchProposal.id.desc())
        .limit(SHOWN_ROWS)
    ).all()
    parts: dict[int, list[int]] = {}
    for match, observation, _code, _amount in reversed(rows):
        if match.status is not MatchStatus.REJECTED:
            parts.setdefault(match.invoice_id, []).append(observation.amount_sat)
    return [
        MatchLine(
            match_id=match.id,
            observation_id=observation.id,
            code=code,
            invoice_amount_sat=amount,
            amount_sat=observation.amount_sat,
            address=observation.address,
            txid=observation.txid,
            observed_at=observation.observed_at,
            rule=match.rule.value.replace("_", " "),
            confidence=match.confidence,
            status=match.status,
            confirmed_by=match.confirmed_by,
            verified_by=match.verified_by,
            rejected_by=match.rejected_by,
            reject_reason=match.reject_reason,
            decided_at=match.verified_at or match.rejected_at,
            together=_together(amount, parts.get(match.invoice_id, [])),
        )
        for match, observation, code, amount in rows
    ]


def _together(asked_sat: int, parts: list[int]) -> str:
    if len(parts) < 2:
        return ""
    count = counted(len(parts), "payment")
    return f"{count} for this order, together {payment_sum(asked_sat, parts)}"


def _observations(
    session: Session, matches: list[MatchLine]
) -> tuple[ObservationLine, ...]:
    reasons = match_outcome(session).unmatched
    in_progress = {
        m.observation_id: f"{m.status.value} for {m.code}"
        for m in reversed(matches)
        if m.status is not MatchStatus.REJECTED
    }
    observations = session.scalars(
        select(Observation)
        .order_by(Observation.observed_at.desc(), Observation.id.desc())
        .limit(SHOWN_ROWS)
    ).all()
    return tuple(
        ObservationLine(
            observation_id=o.id,
            address=o.address,
            amount_sat=o.amount_sat,
            txid=o.txid,
            observed_at=o.observed_at,
            source=_source_words(o),
            recorded_by=o.recorded_by,
            state=in_progress.get(o.id)
            or f"not matched: {reasons.get(o.id, 'every proposal was rejected')}",
        )
        for o in observations
    )


def _open_orders(session: Session) -> dict[int, str]:
    rows = session.execute(
        select(Invoice.id, Parcel.code, Invoice.amount_sat, Invoice.address)
        .join(Parcel, Parcel.id == Invoice.parcel_id)
        .where(Invoice.method == PaymentMethod.ONCHAIN, Invoice.status.in_(WAITING))
        .order_by(Invoice.created_at.desc())
        .limit(SHOWN_ROWS)
    ).all()
    return {
        invoice_id: f"{code} · {amount:,} sat · {address}"
        for invoice_id, code, amount, address in rows
    }


def _source_words(observation: Observation) -> str:
    if observation.source is ObservationSource.CSV:
        return f"{observation.file_name}, row {observation.file_row}"
    return "by hand"


def _invoice_words(invoice: Invoice) -> str:
    words = invoice.status.value
    if invoice.exception is not None:
        words += f" ({invoice.exception.value.replace('_', ' ')})"
    return words
