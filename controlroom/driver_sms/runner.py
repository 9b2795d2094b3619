"""Reading drivers' texts off the SMS gateway, one transaction per text.

Each text is handled in a transaction of its own, so a text that cannot be
handled (the database refused it, a bug) neither loses nor blocks the
others; it is handed back to the caller to try again, because the SMSC
considers it delivered once the gateway answered it.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Protocol
from zoneinfo import ZoneInfo

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from controlroom.clock import operating_now
from controlroom.driver_sms.service import InboundOutcome, handle_inbound
from controlroom.messaging.inbound import InboundText
from controlroom.messaging.inbound_rounds import inbound_rounds
from controlroom.messaging.smpp_gateway import SmppGateway

logger = logging.getLogger(__name__)


class InboundSource(Protocol):
    """Where texts from handsets come from (the SMPP gateway, a fake)."""

    def inbound(
        self, *, wait_seconds: float = 0.0, at_least: int = 0
    ) -> list[InboundText]:
        """Return the whole texts that have arrived, and forget them."""
        ...


@dataclass
class InboundRound:
    """What one round of reading did: texts handled, texts to try again."""

    handled: list[InboundOutcome] = field(default_factory=list)
    failed: list[InboundText] = field(default_factory=list)


def handle_texts(
    engine: Engine, texts: Sequence[InboundText], *, zone: ZoneInfo | None = None
) -> InboundRound:
    """Handle each text in its own transaction; keep those that failed."""
    result = InboundRound()
    for text in texts:
        try:
            with Session(engine) as session, session.begin():
                outcome = handle_inbound(
                    session,
                    phone=text.phone,
                    text=text.text,
                    at=operating_now(session),
                    zone=zone,
                )
        except Exception:
            # The outer loop of a background job: one text must not stop
            # the others; the caller keeps it to try again.
            logger.exception("driver text not handled; kept to try again")
            result.failed.append(text)
            continue
        result.handled.append(outcome)
    return result


def read_driver_texts(
    engine: Engine,
    source: InboundSource,
    *,
    wait_seconds: float = 0.0,
    at_least: int = 0,
    zone: ZoneInfo | None = None,
) -> InboundRound:
    """Collect the texts the gateway holds and handle each of them."""
    texts = source.inbound(wait_seconds=wait_seconds, at_least=at_least)
    return handle_texts(engine, texts, zone=zone)


def read_texts_for(
    engine: Engine,
    gateway: object,
    *,
    every: float,
    rounds: int | None = None,
    zone: ZoneInfo | None = None,
) -> Iterator[str]:
    """Read and handle texts round after round; yield one line per text.

    A text that could not be handled is tried again in the next round.

    Raises
    ------
    ConfigurationError
        The configured gateway cannot receive texts (only SMPP can).
    """

    def handle(
        smpp: SmppGateway, texts: list[InboundText]
    ) -> tuple[list[str], list[InboundText]]:
        result = handle_texts(engine, texts, zone=zone)
        lines = [
            f"text {outcome.text_id}: {outcome.driver or 'unknown phone'} "
            f"{outcome.command or '-'} {outcome.code or ''} -> "
            f"{outcome.outcome.value}"
            for outcome in result.handled
        ]
        return lines, result.failed

    return inbound_rounds(
        gateway, handle, senders="Drivers'", every=every, rounds=rounds
    )
