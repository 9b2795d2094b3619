"""The fail-over drill's writer: orders with idempotency keys, and what it was told.

The drill writes to a table of its own (no migration; it creates it), so a
drill can run against any PostgreSQL cluster without touching real orders.
The writer keeps every key it got an acknowledgement for; after the
fail-over each of them must be on the new primary.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from sqlalchemy import Engine, text

from controlroom.availability.durable import durable_transaction
from controlroom.availability.in_doubt import RetryPolicy, submit_with_key
from controlroom.db import create_db_engine
from controlroom.errors import WriteInDoubt

logger = logging.getLogger(__name__)

DRILL_TABLE = "failover_drill_orders"


@dataclass
class DrillWriter:
    """Places drill orders through a (multi-host) URL and remembers the answers."""

    url: str
    timeout: float = 0.5
    policy: RetryPolicy = field(
        default_factory=lambda: RetryPolicy(attempts=2, first_delay=0.05)
    )
    acknowledged: list[str] = field(default_factory=list)
    in_doubt: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.engine: Engine = create_db_engine(self.url)

    def prepare(self) -> None:
        """Create the drill table (a unique idempotency key per order)."""
        with durable_transaction(self.engine, timeout=5) as connection:
            connection.execute(
                text(
                    f"CREATE TABLE IF NOT EXISTS {DRILL_TABLE} ("
                    "idempotency_key text PRIMARY KEY, "
                    "placed_at timestamptz NOT NULL DEFAULT now())"
                )
            )

    def place(self, key: str) -> bool:
        """Submit one order; True once acknowledged, False while in doubt."""
        try:
            submit_with_key(key, self._insert, self._is_stored, policy=self.policy)
        except WriteInDoubt:
            if key not in self.in_doubt:
                self.in_doubt.append(key)
            return False
        if key in self.in_doubt:
            self.in_doubt.remove(key)
        self.acknowledged.append(key)
        return True

    def resubmit_in_doubt(self) -> list[str]:
        """Submit every in-doubt key again; return those still in doubt."""
        for key in list(self.in_doubt):
            self.place(key)
        return list(self.in_doubt)

    def close(self) -> None:
        """Close the writer's connections."""
        self.engine.dispose()

    def _insert(self, key: str) -> None:
        with durable_transaction(self.engine, timeout=self.timeout) as connection:
            connection.execute(
                text(f"INSERT INTO {DRILL_TABLE} (idempotency_key) VALUES (:key)"),
                {"key": key},
            )

    def _is_stored(self, key: str) -> bool:
        with durable_transaction(self.engine, timeout=self.timeout) as connection:
            found = connection.execute(
                text(f"SELECT 1 FROM {DRILL_TABLE} WHERE idempotency_key = :key"),
                {"key": key},
            ).scalar()
        return found is not None


def stored_keys(url: str) -> list[str]:
    """Read every drill key stored on one server (duplicates would show twice)."""
    engine = create_db_engine(url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                text(f"SELECT idempotency_key FROM {DRILL_TABLE}")
            ).scalars()
            return list(rows)
    finally:
        engine.dispose()
