"""The fallback channels as the command line and screens use them, by settings."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from controlroom.config import Settings
from controlroom.errors import ConfigurationError
from controlroom.fallback_orders.sms_orders import answer_order_texts
from controlroom.fallback_orders.spool import Spool
from controlroom.fallback_orders.spool_wallet import SpoolWallet, spool_wallet
from controlroom.messaging.inbound import InboundText
from controlroom.messaging.inbound_rounds import inbound_rounds
from controlroom.messaging.smpp_gateway import SmppGateway
from controlroom.payments.addresses import Network

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
