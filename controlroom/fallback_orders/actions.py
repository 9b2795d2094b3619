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
    if not isinstance(gateway, SmppGateway):
        raise ConfigurationError(
            "Customers' texts come in over SMPP only: set CONTROLROOM_SMS_GATEWAY "
            "to 'smpp' to read them.",
            setting="sms_gateway",
        )
    retry: list[InboundText] = []
    done = 0
    while rounds is None or done < rounds:
        texts = [*retry, *gateway.inbound(wait_seconds=every, at_least=1)]
        result = answer_order_texts(spool, gateway, texts, wallet=wallet)
        retry = result.failed
        for answer in result.answered:
            if answer.record is None:
                yield "text answered with help; nothing ordered"
            else:
                fate = "new order" if answer.new else "repeat of"
                yield f"{fate} spool record {answer.record.seq}"
        if retry:
            yield f"{len(retry)} text(s) kept to try again next round"
        done += 1
