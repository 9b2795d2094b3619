"""The fallback channels as the command line and screens use them, by settings."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from controlroom.config import Settings
from controlroom.db import read_only
from controlroom.errors import ConfigurationError, ControlRoomError
from controlroom.fallback_orders.sms_orders import answer_order_texts
from controlroom.fallback_orders.spool import Spool
from controlroom.fallback_orders.spool_wallet import SpoolWallet, spool_wallet
from controlroom.journal.models import JournalEvent
from controlroom.messaging.inbound import InboundText
from controlroom.messaging.inbound_rounds import inbound_rounds
from controlroom.messaging.smpp_gateway import SmppGateway
from controlroom.payments.addresses import Network
from controlroom.payments.wallet_watch.models import FallbackWallet
from controlroom.schema import open_checked_database

logger = logging.getLogger(__name__)

SPOOL_FOLDER = "fallback-spool"


def spool_folder(settings: Settings) -> Path:
    """Return the spool's folder: the setting, or one in the data folder."""
    return settings.fallback_spool_dir or settings.data_dir / SPOOL_FOLDER


def configured_wallet(settings: Settings) -> SpoolWallet:
    """Return the watch-only wallet spooled orders are paid to."""
    if not settings.fallback_wallet_key:
        raise ConfigurationError(
            "Set CONTROLROOM_FALLBACK_WALLET_KEY to the watch-only account key "
            "(xpub, zpub, vpub or a descriptor) spooled orders are paid to; "
            "SMS orders cannot be answered with an address without it.",
            setting="fallback_wallet_key",
        )
    return spool_wallet(
        settings.fallback_wallet_key,
        network=Network(settings.fallback_wallet_network),
        first_index=settings.fallback_wallet_first_index,
    )


def check_spool_account(settings: Settings, wallet: SpoolWallet) -> bool:
    """Refuse a spool key the primary's fallback wallets already issue from.

    The spool's own account may be registered in the primary, never
    activated, so merge back lists its addresses; a wallet that is or ever
    was active has handed its addresses to the primary's orders. Returns
    False, checking nothing, when the primary cannot be read: the spool
    exists for exactly that outage, so it still answers texts.

    Raises
    ------
    ConfigurationError
        The spool's key derives the first address of a fallback wallet in
        the primary, so both would hand the same addresses to two parcels.
    """
    try:
        engine = open_checked_database(settings.resolved_database_url)
    except ControlRoomError as exc:
        logger.info("spool account not checked; primary unreadable error=%s", exc)
        return False
    try:
        with Session(read_only(engine)) as session:
            shared = _issuing_twin(session, wallet)
    except SQLAlchemyError as exc:
        logger.info("spool account not checked; primary unreadable error=%s", exc)
        return False
    finally:
        engine.dispose()
    if shared is not None:
        raise ConfigurationError(
            "CONTROLROOM_FALLBACK_WALLET_KEY is the account of the primary's "
            f"fallback wallet {shared!r} (first address {wallet.first_address}): "
            "SMS orders would be given addresses the primary already issued to "
            "other parcels. Give the spool an account of its own (e.g. "
            "m/84'/0'/2', or m/84'/1'/2' on test networks) and set that "
            "account's watch-only key instead.",
            setting="fallback_wallet_key",
        )
    return True


def _issuing_twin(session: Session, wallet: SpoolWallet) -> str | None:
    twin = session.scalar(
        select(FallbackWallet).where(
            FallbackWallet.first_address == wallet.first_address
        )
    )
    if twin is None:
        return None
    activated = session.scalar(
        select(JournalEvent.seq)
        .where(
            JournalEvent.kind == "FallbackWalletActivated",
            JournalEvent.subject == twin.subject,
        )
        .limit(1)
    )
    return twin.name if twin.active or activated is not None else None


def read_order_texts_for(
    spool: Spool,
    gateway: object,
    *,
    wallet: SpoolWallet,
    every: float,
    rounds: int | None = None,
) -> Iterator[str]:
    """Answer customers' order texts round after round; one line per text.

    A text whose order could not be spooled is tried again next round.

    Raises
    ------
    ConfigurationError
        The configured gateway cannot receive texts (only SMPP can).
    """

    def handle(
        smpp: SmppGateway, texts: list[InboundText]
    ) -> tuple[list[str], list[InboundText]]:
        result = answer_order_texts(spool, smpp, texts, wallet=wallet)
        lines = []
        for answer in result.answered:
            if answer.record is None:
                lines.append("text answered with help; nothing ordered")
            else:
                fate = "new order" if answer.new else "repeat of"
                lines.append(f"{fate} spool record {answer.record.seq}")
        return lines, result.failed

    return inbound_rounds(
        gateway, handle, senders="Customers'", every=every, rounds=rounds
    )
