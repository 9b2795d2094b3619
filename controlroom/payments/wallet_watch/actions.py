"""What ops and management may do from the Wallet watch screen.

Each function checks the role, opens its own transaction (a page is an entry
point) and hands over to the services, which journal. Each returns the
sentence the screen shows when it worked.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from controlroom.auth.models import Role
from controlroom.clock import operating_now
from controlroom.db import read_only
from controlroom.errors import PaymentError
from controlroom.payments.addresses import Network
from controlroom.payments.models import Invoice
from controlroom.payments.wallet_watch.amounts_and_times import (
    AmountUnit,
    parse_moment,
)
from controlroom.payments.wallet_watch.board import WalletWatchBoard, wallet_watch_board
from controlroom.payments.wallet_watch.models import (
    MatchProposal,
    Observation,
    WalletKind,
)
from controlroom.payments.wallet_watch.observations import (
    import_observations,
    record_observation,
)
from controlroom.payments.wallet_watch.service import (
    add_fallback_wallet,
)
from controlroom.payments.wallet_watch.verification import (
    confirm_match,
    match_by_hand,
    reject_match,
    verify_match,
)
from controlroom.session_frame import SignedInUser, require_role
from controlroom.words import counted

logger = logging.getLogger(__name__)

WALLET_WATCHERS = frozenset({Role.OPS, Role.MANAGEMENT})


def load_board(engine: Engine) -> WalletWatchBoard:
    """Read what the Wallet watch screen shows."""
    with Session(read_only(engine)) as session:
        return wallet_watch_board(session, now=operating_now(session))


def add_wallet(
    engine: Engine,
    *,
    user: SignedInUser,
    name: str,
    kind: WalletKind,
    public_key: str,
    network: Network,
) -> str:
    """Add a watch-only fallback wallet as ``user``; it becomes the active one."""
    require_role(user, WALLET_WATCHERS, "add a fallback wallet")
    with Session(engine) as session, session.begin():
        wallet = add_fallback_wallet(
            session,
            name=name,
            kind=kind,
            public_key=public_key,
            network=network,
            at=operating_now(session),
            actor=user.username,
        )
        return (
            f"Fallback wallet {wallet.name} added and active; its first address "
            f"is {wallet.first_address}."
        )


def record_seen_payment(
    engine: Engine,
    *,
    user: SignedInUser,
    address: str,
    amount_sat: int,
    observed_at: str,
    zone: str,
    txid: str = "",
    note: str = "",
) -> str:
    """Record a payment ``user`` saw; ``observed_at`` is local time in ``zone``."""
    require_role(user, WALLET_WATCHERS, "record an observed payment")
    moment = parse_moment(observed_at, zone=zone)
    with _same_payment_refused(), Session(engine) as session, session.begin():
        observation = record_observation(
            session,
            address=address,
            amount_sat=amount_sat,
            observed_at=moment,
            txid=txid,
            note=note,
            recorded_by=user.username,
            at=operating_now(session),
        )
        return f"Recorded {observation.amount_sat:,} sat to {observation.address}."


def import_file(
    engine: Engine,
    *,
    user: SignedInUser,
    content: bytes,
    file_name: str,
    zone: str | None,
    unit: AmountUnit | None,
) -> str:
    """Import a CSV of observed payments as ``user``, whole or not at all."""
    require_role(user, WALLET_WATCHERS, "import observed payments")
    with _same_payment_refused(), Session(engine) as session, session.begin():
        report = import_observations(
            session,
            content=content,
            file_name=file_name,
            zone=zone,
            unit=unit,
            recorded_by=user.username,
            at=operating_now(session),
        )
    parts = [f"{file_name}: imported {counted(len(report.imported), 'payment')}"]
    if report.duplicates:
        parts.append(f"{counted(len(report.duplicates), 'duplicate')} skipped")
    if report.skipped:
        parts.append(f"{counted(len(report.skipped), 'outgoing line')} skipped")
    return "; ".join(parts) + "."


def confirm(engine: Engine, *, user: SignedInUser, match_id: int) -> str:
    """Confirm a proposed match as the first person."""
    require_role(user, WALLET_WATCHERS, "confirm a payment match")
    with Session(engine) as session, session.begin():
        match = _match(session, match_id)
        confirm_match(
            session, match=match, actor=user.username, at=operating_now(session)
        )
        return (
            f"Confirmed: {match.observation.amount_sat:,} sat for "
            f"{match.invoice.parcel.code}. A second person must now verify it."
        )


def verify(engine: Engine, *, user: SignedInUser, match_id: int) -> str:
    """Verify a confirmed match as the second person."""
    require_role(user, WALLET_WATCHERS, "verify a payment match")
    with Session(engine) as session, session.begin():
        match = _match(session, match_id)
        settled = verify_match(
            session, match=match, actor=user.username, at=operating_now(session)
        )
        code = match.invoice.parcel.code
        if settled:
            return (
                f"Verified by {match.confirmed_by} and {user.username}: "
                f"{code} is marked paid."
            )
        return f"Verified for {code}; its payments do not yet cover the order."


def reject(engine: Engine, *, user: SignedInUser, match_id: int, reason: str) -> str:
    """Reject a match, saying why."""
    require_role(user, WALLET_WATCHERS, "reject a payment match")
    with Session(engine) as session, session.begin():
        match = _match(session, match_id)
        reject_match(
            session,
            match=match,
            reason=reason,
            actor=user.username,
            at=operating_now(session),
        )
        return f"Rejected the match for {match.invoice.parcel.code}."


def match_payment_by_hand(
    engine: Engine,
    *,
    user: SignedInUser,
    observation_id: int,
    invoice_id: int,
    reason: str,
) -> str:
    """Match an observation to an order by hand, as the first person."""
    require_role(user, WALLET_WATCHERS, "match a payment by hand")
    with Session(engine) as session, session.begin():
        observation = session.get(Observation, observation_id)
        invoice = session.get(Invoice, invoice_id)
        if observation is None or invoice is None:
            raise PaymentError("That payment or order no longer exists; reload.")
        match_by_hand(
            session,
            observation=observation,
            invoice=invoice,
            reason=reason,
            actor=user.username,
            at=operating_now(session),
        )
        return (
            f"Matched {observation.amount_sat:,} sat to {invoice.parcel.code}; "
            "a second person must now verify it."
        )


@contextmanager
def _same_payment_refused() -> Iterator[None]:
    # Two people recording the same payment at the same moment: the second
    # transaction meets the (txid, address) constraint the first just filled.
    try:
        yield
    except IntegrityError as exc:
        logger.warning("observation refused by a constraint: %s", exc.orig)
        raise PaymentError(
            "Someone recorded the same payment a moment ago; nothing was added. "
            "Reload the screen and check the observed payments."
        ) from None


def _match(session: Session, match_id: int) -> MatchProposal:
    match = session.get(MatchProposal, match_id)
    if match is None:
        raise PaymentError("That match no longer exists; reload the screen.")
    return match
