"""Durable transactions: a COMMIT counts only once the standby has it."""

from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.exc import OperationalError

from controlroom.availability.durable import durable_transaction
from controlroom.db import create_db_engine
from controlroom.errors import AvailabilityError, WriteInDoubt
from tests.availability.clusters import Pair


def cancel_the_replication_wait(url: str) -> threading.Thread:
    """In the background, cancel the first backend waiting for the standby."""

    def cancel() -> None:
        engine = create_engine(url, isolation_level="AUTOCOMMIT")
        deadline = time.monotonic() + 5
        with engine.connect() as connection:
            while time.monotonic() < deadline:
                cancelled = connection.execute(
                    text(
                        "SELECT pg_cancel_backend(pid) FROM pg_stat_activity "
                        "WHERE wait_event = 'SyncRep' LIMIT 1"
                    )
                ).scalar()
                if cancelled:
                    break
                time.sleep(0.02)
        engine.dispose()

    canceller = threading.Thread(target=cancel)
    canceller.start()
    return canceller


def make_orders_table(engine: Engine) -> None:
    with durable_transaction(engine, timeout=5) as connection:
        connection.execute(text("CREATE TABLE orders (key text PRIMARY KEY)"))


@pytest.mark.postgres
def test_a_cancelled_replication_wait_is_in_doubt_not_acknowledged(
    sync_pair: Pair,
) -> None:
    engine = create_db_engine(sync_pair.primary.url)
    make_orders_table(engine)
    sync_pair.standby.stop()

    canceller = cancel_the_replication_wait(sync_pair.primary.url)
    with (
        pytest.raises(WriteInDoubt, match="stopped waiting for the standby"),
        durable_transaction(engine, timeout=5) as connection,
    ):
        connection.execute(text("INSERT INTO orders VALUES ('k1')"))
    canceller.join()
    engine.dispose()


@pytest.mark.postgres
def test_a_plain_commit_reports_success_when_its_wait_is_cancelled(
    sync_pair: Pair,
) -> None:
    # Why durable_transaction exists: PostgreSQL acknowledges this commit
    # although the standby never got it.
    engine = create_db_engine(sync_pair.primary.url)
    make_orders_table(engine)
    sync_pair.standby.stop()

    canceller = cancel_the_replication_wait(sync_pair.primary.url)
    with engine.begin() as connection:
        connection.execute(text("INSERT INTO orders VALUES ('k1')"))
    canceller.join()

    with engine.connect() as connection:
        stored = connection.execute(text("SELECT key FROM orders")).scalars().all()
    engine.dispose()
    assert stored == ["k1"]


@pytest.mark.postgres
def test_a_commit_the_standby_cannot_confirm_times_out(sync_pair: Pair) -> None:
    engine = create_db_engine(sync_pair.primary.url)
    make_orders_table(engine)
    sync_pair.standby.stop()

    with (
        pytest.raises(OperationalError, match="closed the connection"),
        durable_transaction(engine, timeout=0.3) as connection,
    ):
        connection.execute(text("INSERT INTO orders VALUES ('k1')"))
    engine.dispose()


@pytest.mark.postgres
def test_a_lookup_waits_for_the_standby_like_a_write(sync_pair: Pair) -> None:
    engine = create_db_engine(sync_pair.primary.url)
    make_orders_table(engine)
    sync_pair.standby.stop()

    with (
        pytest.raises(OperationalError, match="closed the connection"),
        durable_transaction(engine, timeout=0.3) as connection,
    ):
        connection.execute(text("SELECT count(*) FROM orders")).scalar()
    engine.dispose()


def test_a_durable_transaction_needs_postgresql(engine: Engine) -> None:
    with (
        pytest.raises(AvailabilityError, match="sqlite has none"),
        durable_transaction(engine, timeout=1),
    ):
        pass


@pytest.mark.postgres
def test_statement_timeout_does_not_end_a_replication_wait(sync_pair: Pair) -> None:
    # Why the transaction is bounded by severing its connection instead.
    engine = create_engine(
        sync_pair.primary.url, connect_args={"options": "-c statement_timeout=100"}
    )
    make_orders_table(engine)
    sync_pair.standby.stop()

    with (
        pytest.raises(OperationalError, match="closed the connection"),
        durable_transaction(engine, timeout=0.5) as connection,
    ):
        connection.execute(text("INSERT INTO orders VALUES ('k1')"))
    engine.dispose()
