"""Writes whose commit may or may not have happened: "in doubt".

When the connection breaks or times out while COMMIT is under way, the
client cannot tell whether the server stored the write. Reporting that as a
failure would be wrong (the order may be there), and blindly writing it
again could store it twice. So every write carries an idempotency key that
the database keeps unique: after an unknown outcome we ask whether the key
is stored, and re-submit the same write with the same key only if it is not.
The unique key makes a re-submission that races a late commit fail instead
of duplicating, and that failure is resolved by asking again.

Nothing here knows a database; the caller passes the write and the lookup.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from sqlalchemy.exc import DBAPIError, IntegrityError, InterfaceError, OperationalError

from controlroom.errors import WriteInDoubt

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently an in-doubt write is re-submitted."""

    attempts: int = 6
    first_delay: float = 0.05
    max_delay: float = 2.0
    multiplier: float = 2.0

    def __post_init__(self) -> None:
        if self.attempts < 1:
            raise ValueError("a retry policy needs at least one attempt")
        if self.first_delay < 0 or self.max_delay < self.first_delay:
            raise ValueError("delays must be >= 0 and max_delay >= first_delay")
        if self.multiplier < 1:
            raise ValueError("the back-off multiplier must be at least 1")

    def delays(self) -> Iterator[float]:
        """Yield the pause after each in-doubt attempt, growing to the cap."""
        delay = self.first_delay
        for _ in range(self.attempts):
            yield delay
            delay = min(delay * self.multiplier, self.max_delay)


@dataclass(frozen=True)
class Acknowledged:
    """A write known to be stored, and how it got there."""

    key: str
    attempts: int
    doubts: int
    found_stored: bool


def outcome_unknown(exc: BaseException) -> bool:
    """Tell whether ``exc`` leaves a write's commit in doubt.

    A lost or timed-out connection (the driver's operational and interface
    errors, an invalidated connection) may have struck before or after the
    server committed; our own ``WriteInDoubt`` says so explicitly.
    """
    if isinstance(exc, WriteInDoubt | OperationalError | InterfaceError):
        return True
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    return isinstance(exc, ConnectionError | TimeoutError)


def submit_with_key(
    key: str,
    write: Callable[[str], object],
    is_stored: Callable[[str], bool],
    *,
    policy: RetryPolicy | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> Acknowledged:
    """Store the write named ``key`` exactly once, retrying while in doubt.

    ``write(key)`` runs and commits one transaction that stores the key in a
    column the database keeps unique; ``is_stored(key)`` answers from
    durable state (on a replicated database: only once the standby has it).
    Errors that are not about the outcome (a refused order) propagate
    unchanged. Raises ``WriteInDoubt`` when every attempt stayed unknown:
    the write may still be stored, so the caller keeps the key and submits
    it again later, never reports the order as failed.
    """
    policy = policy or RetryPolicy()
    last: BaseException | None = None
    for attempt, delay in enumerate(policy.delays(), start=1):
        try:
            write(key)
        except IntegrityError as exc:
            # Our key may already be there from an earlier submission or a
            # late in-doubt commit; any other constraint is the caller's.
            stored = _looked_up(key, is_stored)
            if stored is True:
                return Acknowledged(key, attempt, attempt - 1, found_stored=True)
            if not _unique_violation(exc) or (stored is False and attempt == 1):
                raise
            last = exc
        except Exception as exc:
            if not outcome_unknown(exc):
                raise
            last = exc
        else:
            return Acknowledged(key, attempt, attempt - 1, found_stored=False)

        logger.warning(
            "write in doubt key=%s attempt=%d error=%s", key, attempt, _first_line(last)
        )
        sleep(delay)
        if _looked_up(key, is_stored) is True:
            return Acknowledged(key, attempt, attempt, found_stored=True)

    raise WriteInDoubt(
        f"The write {key!r} is still in doubt after {policy.attempts} attempts "
        f"(last error: {_first_line(last)}). It may be stored: keep the key and "
        "submit it again once the database answers; do not report it as failed.",
        key=key,
        attempts=policy.attempts,
    ) from last


def _looked_up(key: str, is_stored: Callable[[str], bool]) -> bool | None:
    # None: the lookup itself could not tell (the database is still away).
    try:
        return is_stored(key)
    except Exception as exc:
        if not outcome_unknown(exc):
            raise
        logger.info("in-doubt lookup failed key=%s error=%s", key, _first_line(exc))
        return None


def _unique_violation(exc: IntegrityError) -> bool:
    # PostgreSQL: "duplicate key value violates unique constraint";
    # SQLite: "UNIQUE constraint failed". Only such a clash can be our key.
    return "unique" in str(exc.orig or exc).lower()


def _first_line(exc: BaseException | None) -> str:
    text = str(exc).strip() if exc is not None else ""
    return text.splitlines()[0] if text else type(exc).__name__
