"""A multi-host PostgreSQL URL: accepted, described safely, lands on the primary."""

from __future__ import annotations

import socket
from typing import Any

import pytest
from sqlalchemy import event, text

from controlroom.db import create_db_engine, describe_url, ping
from controlroom.errors import DatabaseUnavailable
from tests.availability.clusters import USER, Pair

MULTI_HOST = (
    "postgresql+psycopg://ops:s3cret@127.0.0.1:5432,127.0.0.1:5433/orders"
    "?target_session_attrs=read-write&connect_timeout=2"
)


def test_a_multi_host_url_is_described_with_its_hosts_and_no_password() -> None:
    engine = create_db_engine(MULTI_HOST)

    shown = describe_url(str(engine.url))

    assert shown == (
        "postgresql+psycopg://ops:***@127.0.0.1:5432,127.0.0.1:5433/orders"
        "?connect_timeout=2&target_session_attrs=read-write"
    )
    assert describe_url(MULTI_HOST) == shown


def test_a_multi_host_url_hands_libpq_every_host_and_the_session_rule() -> None:
    engine = create_db_engine(MULTI_HOST)

    _, options = engine.dialect.create_connect_args(engine.url)

    assert options["host"] == "127.0.0.1,127.0.0.1"
    assert options["port"] == "5432,5433"
    assert options["target_session_attrs"] == "read-write"
    assert engine.pool._pre_ping  # type: ignore[attr-defined]


def test_a_malformed_host_list_is_refused_without_its_password() -> None:
    url = "postgresql+psycopg://ops:s3cret@127.0.0.1:5432,127.0.0.1:x/orders"

    with pytest.raises(DatabaseUnavailable, match="is not a valid URL") as refused:
        create_db_engine(url)

    assert "s3cret" not in str(refused.value)


def test_an_unreachable_host_list_is_named_without_its_password() -> None:
    engine = create_db_engine(
        "postgresql+psycopg://ops:s3cret@127.0.0.1:1,127.0.0.1:2/x?connect_timeout=1"
    )

    with pytest.raises(
        DatabaseUnavailable, match=r"127\.0\.0\.1:1,127\.0\.0\.1:2"
    ) as down:
        ping(engine)

    assert "s3cret" not in str(down.value)


@pytest.mark.postgres
def test_the_engine_lands_on_the_writable_server(async_pair: Pair) -> None:
    standby_first = (
        f"postgresql+psycopg://{USER}@127.0.0.1:{async_pair.standby.port},"
        f"127.0.0.1:{async_pair.primary.port}/postgres"
        "?target_session_attrs=read-write"
    )
    engine = create_db_engine(standby_first)

    with engine.connect() as connection:
        port, in_recovery = connection.execute(
            text("SELECT inet_server_port(), pg_is_in_recovery()")
        ).one()
    engine.dispose()

    assert (port, in_recovery) == (async_pair.primary.port, False)


def connect_parameters(url: str) -> dict[str, object]:
    """What the engine hands the driver when it connects (to a closed port)."""
    engine = create_db_engine(url)
    seen: dict[str, object] = {}

    @event.listens_for(engine, "do_connect")
    def capture(_dialect: Any, _record: Any, _args: Any, params: Any) -> None:
        seen.update(params)

    with pytest.raises(DatabaseUnavailable):
        ping(engine)
    return seen


def test_every_server_gets_a_connect_timeout_by_default() -> None:
    seen = connect_parameters("postgresql+psycopg://ops@127.0.0.1:1,127.0.0.1:2/x")

    assert seen["connect_timeout"] == 5


def test_a_connect_timeout_in_the_url_wins() -> None:
    seen = connect_parameters(
        "postgresql+psycopg://ops@127.0.0.1:1/x?connect_timeout=1"
    )

    assert seen["connect_timeout"] == "1"


@pytest.mark.postgres
def test_a_silent_first_host_is_skipped_after_its_timeout(async_pair: Pair) -> None:
    with socket.create_server(("127.0.0.1", 0)) as silent:
        port = silent.getsockname()[1]
        engine = create_db_engine(
            f"postgresql+psycopg://{USER}@127.0.0.1:{port},"
            f"127.0.0.1:{async_pair.primary.port}/postgres"
            "?target_session_attrs=read-write&connect_timeout=1"
        )
        # Without the timeout libpq would wait for the silent host for ever.
        with engine.connect() as connection:
            landed = connection.execute(text("SELECT inet_server_port()")).scalar()
        engine.dispose()

    assert landed == async_pair.primary.port
