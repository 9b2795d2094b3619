"""The loop of a background payment job: one transaction a round, until stopped.

The payment tracker and the Lightning poller run this way outside the demo
(``controlroom payments track`` and ``controlroom payments lightning``).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Generic, TypeVar

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from controlroom.clock import operating_now

logger = logging.getLogger(__name__)

Report = TypeVar("Report")


@dataclass(frozen=True)
class RoundOutcome(Generic[Report]):
    """One round of the loop: its report, or why it failed."""

    report: Report | None
    error: str = ""


def run_rounds(
    engine: Engine,
    *,
    step: Callable[[Session, datetime], Report],
    every_seconds: float,
    rounds: int | None = None,
    on_round: Callable[[RoundOutcome[Report]], None] | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> int:
    """Run ``step`` every ``every_seconds`` until stopped; return rounds run.

    Each round is its own transaction, given the operating time (the
    simulated clock when a simulation runs). A round that fails is rolled
    back, logged and reported, and the loop goes on.
    """
    done = 0
    while rounds is None or done < rounds:
        if done:
            sleep(every_seconds)
        outcome: RoundOutcome[Report]
        try:
            with Session(engine) as session, session.begin():
                outcome = RoundOutcome(step(session, operating_now(session)))
        except Exception as exc:  # the outer loop of a background job
            logger.exception("payment job round failed")
            outcome = RoundOutcome(None, f"{type(exc).__name__}: {exc}")
        done += 1
        if on_round is not None:
            on_round(outcome)
    return done
