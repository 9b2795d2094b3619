"""Web orders through ``take_order`` at a steady rate, across a fail-over.

Each order is a complete web-shop order under its own idempotency key,
arriving every ``interval`` seconds whether or not earlier answers have
come (a shop serves customers side by side). For each one the customer's
answer is kept: accepted (the primary holds it), accepted-pending (the
spool holds it) or an error, and how long the customer waited. After the
drill the spool is merged back and every answered order must be in the
primary exactly once, with the package code the customer was given.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from controlroom.availability.in_doubt import RetryPolicy
from controlroom.fallback_orders.intake import take_order
from controlroom.fallback_orders.merge import merge_spool
from controlroom.fallback_orders.spool import Spool, SpoolEntry
from controlroom.orders.models import Parcel
from tests.fallback_orders.world import complete_web_order


def web_order(number: int) -> SpoolEntry:
    """Web order ``number``, received now: a medium parcel across Oslo."""
    received = datetime.now(UTC)
    key = f"drill-web-{number:06d}"
    details = complete_web_order(key, received)
    return SpoolEntry(key, "web_shop", received, details.as_json())


@dataclass(frozen=True)
class Answer:
    """What one customer was told, and when (monotonic seconds)."""

    key: str
    how: str  # "accepted", "accepted_pending" or "error"
    code: str | None
    asked: float
    answered: float
    error: str | None = None

    @property
    def latency(self) -> float:
        return self.answered - self.asked


@dataclass(frozen=True)
class IntakeReport:
    """The web intake across the drill, after merge back."""

    answers: tuple[Answer, ...]
    missing: tuple[str, ...]
    duplicated: tuple[str, ...]
    wrong_code: tuple[str, ...]
    merged: int

    def count(self, how: str) -> int:
        return sum(answer.how == how for answer in self.answers)

    @property
    def longest_latency(self) -> float:
        return max((answer.latency for answer in self.answers), default=0.0)

    @property
    def longest_gap(self) -> float:
        """The longest time between two consecutive answers that took an order."""
        times = sorted(a.answered for a in self.answers if a.how != "error")
        return max((b - a for a, b in itertools.pairwise(times)), default=0.0)

    def first_accepted_after(self, moment: float) -> float | None:
        """Seconds from ``moment`` to the first order the primary took after it."""
        taken = [
            a.answered - moment
            for a in self.answers
            if a.how == "accepted" and a.asked >= moment
        ]
        return min(taken, default=None)


@dataclass
class WebIntake:
    """Customers placing web orders every ``interval`` s through ``take_order``."""

    engine: Engine
    spool_folder: Path
    interval: float = 0.1
    policy: RetryPolicy | None = None
    answers: list[Answer] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.spool = Spool(self.spool_folder)
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._arrive, daemon=True)

    def start(self) -> None:
        """Let orders arrive from now on."""
        self._thread.start()

    def stop(self) -> None:
        """Stop new arrivals and wait for every customer to get an answer."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()

    def merge_and_check(self) -> IntakeReport:
        """Merge the spool into the primary; find every answered order there."""
        report = merge_spool(self.engine, self.spool_folder, actor="patroni-drill")
        taken = {a.key: a for a in self.answers if a.how != "error"}
        with Session(self.engine) as session:
            rows = session.execute(
                select(Parcel.idempotency_key, Parcel.code).where(
                    Parcel.idempotency_key.in_(list(taken))
                )
            ).all()
        found = Counter(key for key, _ in rows)
        return IntakeReport(
            answers=tuple(sorted(self.answers, key=lambda a: a.asked)),
            missing=tuple(key for key in taken if key not in found),
            duplicated=tuple(key for key, n in found.items() if n > 1),
            wrong_code=tuple(key for key, code in rows if code != taken[str(key)].code),
            merged=report.merged,
        )

    def _arrive(self) -> None:
        with ThreadPoolExecutor(max_workers=32) as customers:
            number = 0
            start = time.monotonic()
            while not self._stop.is_set():
                customers.submit(self._order, number, time.monotonic())
                number += 1
                # A steady rate: the next arrival is due at start + n * interval.
                time.sleep(max(0.0, start + number * self.interval - time.monotonic()))

    def _order(self, number: int, asked: float) -> None:
        order = web_order(number)
        try:
            taken = take_order(self.engine, self.spool, order, policy=self.policy)
        except Exception as exc:  # the drill counts every kind of failure
            answer = Answer(order.key, "error", None, asked, time.monotonic(), str(exc))
        else:
            answer = Answer(
                order.key, taken.intake.value, taken.code, asked, time.monotonic()
            )
        with self._lock:
            self.answers.append(answer)
