"""Fallback wallets, the addresses they give orders, and what ops observe.

Given a session; nothing here commits. Every change is journalled in the
caller's transaction. What ops observe lives in :mod:`.observations`;
matching it to an order, and the two people who agree, in :mod:`.verification`.
"""

from __future__ import annotations

import logging
import re
from datetime import datetime, timedelta

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from controlroom.errors import PaymentError
from controlroom.journal import append_event
from controlroom.orders.models import Parcel
from controlroom.payments.addresses import Network, parse_address
from controlroom.payments.models import Payment, PaymentMethod
from controlroom.payments.private_material import refuse_private_material
from controlroom.payments.service import issue_invoice
from controlroom.payments.wallet_watch.gap import GapReport, gap_report
from controlroom.payments.wallet_watch.models import (
    FallbackWallet,
    IssuedAddress,
    Observation,
    WalletKind,
)
from controlroom.payments.watch_keys import receive_address, watch_only_key

logger = logging.getLogger(__name__)

_RAW_SECRET = re.compile(r"[0-9a-fA-F]{64}")

# Orders paid to a static wallet are matched by hand, which takes longer
# than a tracker's seconds: the customer gets an hour to pay.
FALLBACK_INVOICE_LIFETIME = timedelta(hours=1)


def add_fallback_wallet(
    session: Session,
    *,
    name: str,
    kind: WalletKind,
    public_key: str,
    network: Network,
    at: datetime,
    actor: str,
    activate: bool = True,
) -> FallbackWallet:
    """Register a watch-only fallback wallet; journal ``FallbackWalletAdded``.

    Private material is refused before anything else reads the text, and
    never stored, logged or repeated.
    """
    refuse_wallet_secret(public_key)
    refuse_private_material(name)
    name, public_key = name.strip(), public_key.strip()
    if not name or len(name) > 80:
        raise PaymentError(
            "Give the wallet a name ops will recognise, of at most 80 characters."
        )
    if session.scalar(select(FallbackWallet.id).where(FallbackWallet.name == name)):
        raise PaymentError(f"A fallback wallet is already called {name!r}.")
    first = derive_first_address(kind, public_key, network)
    # The same key twice (even as xpub and zpub) would hand out its first
    # addresses again, to other orders.
    twin = session.scalar(
        select(FallbackWallet.name).where(FallbackWallet.first_address == first)
    )
    if twin is not None:
        raise PaymentError(
            f"This key is already the fallback wallet {twin!r}: adding it again "
            "would give new orders addresses already issued. Activate that "
            "wallet instead."
        )

    wallet = FallbackWallet(
        name=name,
        kind=kind,
        network=network,
        public_key=public_key,
        first_address=first,
        active=False,
        added_by=actor,
        added_at=at,
    )
    session.add(wallet)
    session.flush()
    append_event(
        session,
        kind="FallbackWalletAdded",
        subject=wallet.subject,
        actor=actor,
        occurred_at=at,
        # The key itself stays out of the journal: it would show every
        # address of the wallet to whoever reads the audit trail. So a
        # restore rebuilds a wallet added after its snapshot only from the
        # key ops give it (controlroom.backup.replay_wallets).
        payload={
            "name": name,
            "kind": kind,
            "network": network,
            "first_address": first,
        },
    )
    if activate:
        activate_wallet(session, wallet=wallet, at=at, actor=actor)
    return wallet


def activate_wallet(
    session: Session, *, wallet: FallbackWallet, at: datetime, actor: str
) -> None:
    """Make ``wallet`` the one new fallback orders are paid to."""
    if wallet.active:
        return
    for other in session.scalars(
        select(FallbackWallet).where(FallbackWallet.active.is_(True))
    ):
        other.active = False
    wallet.active = True
    append_event(
        session,
        kind="FallbackWalletActivated",
        subject=wallet.subject,
        actor=actor,
        occurred_at=at,
        payload={"name": wallet.name},
    )


def active_wallet(session: Session) -> FallbackWallet | None:
    """Return the wallet new fallback orders are paid to, if one is active."""
    return session.scalar(
        select(FallbackWallet).where(FallbackWallet.active.is_(True)).limit(1)
    )


def issue_fallback_address(
    session: Session, *, parcel: Parcel, amount_sat: int, at: datetime, actor: str
) -> IssuedAddress:
    """Invoice ``parcel`` on the active fallback wallet's next address."""
    wallet = active_wallet(session)
    if wallet is None:
        raise PaymentError(
            "No fallback wallet is active, so no address can be given. Add a "
            "watch-only wallet on the Wallet watch screen (ops or management)."
        )

    index: int | None = None
    address = wallet.first_address
    if wallet.kind is WalletKind.HD:
        # Under the wallet's row lock the next index cannot be given twice;
        # the unique (wallet, index) constraint backs that up.
        session.refresh(wallet, with_for_update=True)
        last = session.scalar(
            select(func.max(IssuedAddress.derivation_index)).where(
                IssuedAddress.wallet_id == wallet.id
            )
        )
        index = 0 if last is None else last + 1
        key = watch_only_key(wallet.public_key, network=wallet.network)
        address = receive_address(key, index).text

    invoice = issue_invoice(
        session,
        parcel=parcel,
        method=PaymentMethod.ONCHAIN,
        amount_sat=amount_sat,
        created_at=at,
        expires_at=at + FALLBACK_INVOICE_LIFETIME,
        actor=actor,
        address=address,
    )
    issued = IssuedAddress(
        wallet=wallet,
        derivation_index=index,
        address=address,
        invoice=invoice,
        parcel_id=parcel.id,
        issued_by=actor,
        issued_at=at,
    )
    session.add(issued)
    session.flush()
    journal_address_issued(session, issued=issued, amount_sat=amount_sat)
    logger.info(
        "fallback address issued wallet=%s index=%s parcel=%s",
        wallet.id,
        index,
        parcel.id,
    )
    return issued


def journal_address_issued(
    session: Session, *, issued: IssuedAddress, amount_sat: int
) -> None:
    """Journal ``FallbackAddressIssued`` for a flushed ``issued`` address.

    The payload holds all a restore needs to bring the row back
    (controlroom.backup.replay_wallets).
    """
    append_event(
        session,
        kind="FallbackAddressIssued",
        subject=issued.invoice.subject,
        actor=issued.issued_by,
        occurred_at=issued.issued_at,
        payload={
            "issued": issued.id,
            "wallet": issued.wallet.name,
            "wallet_id": issued.wallet_id,
            "index": issued.derivation_index,
            "address": issued.address,
            "parcel": issued.parcel_id,
            "amount_sat": amount_sat,
        },
    )


def gap_reports(session: Session) -> dict[int, GapReport]:
    """Return the gap report of every HD fallback wallet, by wallet id."""
    issued = session.execute(
        select(IssuedAddress.wallet_id, IssuedAddress.derivation_index)
        .join(FallbackWallet)
        .where(FallbackWallet.kind == WalletKind.HD)
    ).all()
    paid = session.execute(
        select(IssuedAddress.wallet_id, IssuedAddress.derivation_index)
        .join(FallbackWallet)
        .where(
            FallbackWallet.kind == WalletKind.HD,
            # Used on chain: observed by a person, or seen by the tracker
            # once it was back (a wallet's gap counts used addresses).
            or_(
                IssuedAddress.address.in_(select(Observation.address)),
                IssuedAddress.invoice_id.in_(select(Payment.invoice_id)),
            ),
        )
    ).all()
    wallets = session.scalars(
        select(FallbackWallet.id).where(FallbackWallet.kind == WalletKind.HD)
    ).all()
    return {
        wallet_id: gap_report(
            (i for w, i in issued if w == wallet_id and i is not None),
            (i for w, i in paid if w == wallet_id and i is not None),
        )
        for wallet_id in wallets
    }


def refuse_wallet_secret(public_key: str) -> None:
    """Refuse a wallet key that is private material, never repeating it."""
    refuse_private_material(public_key)
    if _RAW_SECRET.fullmatch(public_key.strip()):
        logger.warning("refused private key material kind=raw_hex")
        raise PaymentError(
            "64 hexadecimal digits is what a raw private key looks like; the "
            "control room is watch-only and stored nothing. Give the wallet's "
            "account public key (xpub, zpub or a descriptor), and treat the "
            "secret as exposed if it was one."
        )


def derive_first_address(kind: WalletKind, public_key: str, network: Network) -> str:
    """Return the first receive address of a wallet's watch-only key."""
    if kind is WalletKind.SINGLE_ADDRESS:
        return parse_address(public_key, network=network).text
    return receive_address(watch_only_key(public_key, network=network), 0).text
