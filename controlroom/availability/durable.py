"""Transactions on PostgreSQL whose COMMIT counts only once a standby has it.

With synchronous replication a COMMIT waits until the standby confirms the
WAL. If the standby is cut off, the COMMIT waits for ever; the write is
already committed on the primary but not yet safe, so it must be neither
acknowledged nor called failed. Three PostgreSQL behaviours make the
obvious remedies wrong:

- ``statement_timeout`` does not bound the wait: the server switches it off
  before it commits (``postgres.c``, finish_xact_command); checked on 15.
- A query cancel during the wait (``pg_cancel_backend``, a client's cancel
  request) does not abort the commit: the server ends the wait with the
  WARNING "canceling wait for synchronous replication" and reports success
  (``src/backend/replication/syncrep.c``, SyncRepWaitForLSN). A client that
  trusts that success acknowledges an order the standby may never get, so
  we treat the warning as "in doubt".
- Once such a wait ends early (a cancel, a terminated backend, a restart),
  the row is visible on the primary although the standby lacks it, so
  "is this key stored?" must itself wait for the standby.

So a durable transaction always writes a WAL record (a transactional
logical message) so that a read-only lookup waits like a write, bounds its
time on the client side by severing the connection (never by cancelling
it), and raises ``WriteInDoubt`` on the cancel warning.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import threading
from collections.abc import Iterator
from typing import Any

from sqlalchemy import Connection, Engine

from controlroom.errors import AvailabilityError, WriteInDoubt

logger = logging.getLogger(__name__)

SYNC_WAIT_CANCELLED = "wait for synchronous replication"


@contextlib.contextmanager
def durable_transaction(engine: Engine, *, timeout: float) -> Iterator[Connection]:
    """Run one transaction whose COMMIT returns only once it is replicated.

    The whole transaction, COMMIT included, must end within ``timeout``
    seconds, or the connection is severed and the driver raises
    ``OperationalError`` (an INSERT can also wait: on an earlier, still
    unconfirmed commit of the same key). ``WriteInDoubt`` is raised when the
    server ended the replication wait early. In both cases the outcome is
    unknown, which ``submit_with_key`` resolves.
    """
    if engine.dialect.name != "postgresql":
        raise AvailabilityError(
            "Durable transactions wait for a PostgreSQL standby; "
            f"{engine.dialect.name} has none."
        )
    if timeout <= 0:
        raise ValueError("the timeout of a durable transaction must be positive")

    with engine.connect() as connection:
        driver = connection.connection.driver_connection
        if driver is None:  # only a connection already closed has none
            raise AvailabilityError("The database connection closed on opening.")
        warnings: list[str] = []

        def remember(diagnostic: Any) -> None:
            if SYNC_WAIT_CANCELLED in (diagnostic.message_primary or ""):
                warnings.append(diagnostic.message_primary)

        driver.add_notice_handler(remember)
        watchdog = threading.Timer(timeout, _sever, (driver.fileno(),))
        watchdog.daemon = True
        watchdog.start()
        try:
            with connection.begin():
                yield connection
                # Write a little WAL so that even a lookup's COMMIT waits for
                # the standby: without WAL written, PostgreSQL commits a
                # transaction asynchronously (xact.c, RecordTransactionCommit).
                connection.exec_driver_sql(
                    "SELECT pg_logical_emit_message(true, 'controlroom', 'durable')"
                )
        finally:
            watchdog.cancel()
            with contextlib.suppress(Exception):
                driver.remove_notice_handler(remember)

        if warnings:
            connection.invalidate()
            raise WriteInDoubt(
                "The server stopped waiting for the standby before it confirmed "
                f"the commit ({warnings[0]}); the write is on the primary only.",
                key=None,
                attempts=1,
            )


def _sever(fileno: int) -> None:
    # Shut the socket down under libpq: the blocked COMMIT sees the server
    # gone and raises. A cancel request would instead let the server report
    # the commit as done (see the module docstring).
    logger.warning("transaction exceeded its timeout; severing the connection")
    try:
        sock = socket.socket(fileno=os.dup(fileno))
    except OSError:
        return
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    sock.close()
