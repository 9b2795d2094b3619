"""One round of health checks over the payment nodes (their I/O, no database)."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from controlroom.errors import PaymentNodeError
from controlroom.payments.nodes.base import ChainTip, PaymentNode
from controlroom.payments.tracking.trust import (
    DEFAULT_MAX_LAG,
    DEFAULT_SLOW_MS,
    NodeReading,
    TrustJudgement,
    comparison_heights,
    judge_nodes,
)

logger = logging.getLogger(__name__)


def check_nodes(
    nodes: Sequence[PaymentNode],
    *,
    max_lag: int = DEFAULT_MAX_LAG,
    slow_ms: float = DEFAULT_SLOW_MS,
) -> TrustJudgement:
    """Ask every node for its tip and its hash at each other's tips; judge them.

    A node that fails any of these questions counts as down for the round.
    """
    tips: dict[str, ChainTip] = {}
    errors: dict[str, str] = {}
    for node in nodes:
        key = node.config.key
        try:
            tips[key] = node.tip()
        except PaymentNodeError as exc:
            logger.info("payment node check failed node=%s: %s", key, exc)
            errors[key] = str(exc)

    heights = comparison_heights(list(tips.values()))
    readings = []
    for node in nodes:
        key = node.config.key
        tip = tips.get(key)
        if tip is None:
            readings.append(NodeReading(key, None, errors[key]))
            continue
        try:
            hashes = {
                height: (
                    tip.block_hash if height == tip.height else node.block_hash(height)
                )
                for height in heights
                if height <= tip.height
            }
        except PaymentNodeError as exc:
            logger.info("payment node hash check failed node=%s: %s", key, exc)
            readings.append(NodeReading(key, None, str(exc)))
            continue
        readings.append(NodeReading(key, tip, hashes=hashes))
    return judge_nodes(readings, max_lag=max_lag, slow_ms=slow_ms)
