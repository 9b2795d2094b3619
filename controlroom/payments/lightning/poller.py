"""Polling a Lightning node outside the demo: its configuration and the loop."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from controlroom.errors import ConfigurationError
from controlroom.payments.addresses import Network
from controlroom.payments.lightning.lnd_rest import LndRestNode
from controlroom.payments.lightning.node import (
    LightningNode,
    LightningNodeConfig,
    read_macaroon,
)
from controlroom.payments.lightning.service import (
    LightningPoll,
    poll_lightning_invoices,
)
from controlroom.payments.rounds import RoundOutcome, run_rounds

POLLER_ACTOR = "lightning-poller"
PollOutcome = RoundOutcome[LightningPoll]


def lightning_node(
    *, key: str, url: str, macaroon: Path, cert: Path | None, network: str
) -> LndRestNode:
    """Build the LND REST adapter from what an operator types."""
    try:
        chain = Network(network.strip().lower())
    except ValueError:
        names = ", ".join(n.value for n in Network)
        raise ConfigurationError(
            f"The network must be one of {names}, not {network!r}.",
            setting="network",
        ) from None
    config = LightningNodeConfig(
        key=key,
        url=url,
        macaroon_hex=read_macaroon(macaroon),
        network=chain,
        tls_cert_path=cert,
    )
    return LndRestNode(config)


def run_lightning_poller(
    engine: Engine,
    *,
    node: LightningNode,
    every_seconds: float,
    rounds: int | None = None,
    on_round: Callable[[PollOutcome], None] | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> int:
    """Poll ``node`` every ``every_seconds`` until stopped; return rounds run."""

    def one_round(session: Session, now: datetime) -> LightningPoll:
        return poll_lightning_invoices(session, node=node, now=now, actor=POLLER_ACTOR)

    return run_rounds(
        engine,
        step=one_round,
        every_seconds=every_seconds,
        rounds=rounds,
        on_round=on_round,
        sleep=sleep,
    )
