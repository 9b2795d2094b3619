"""The cluster board: roles and replication state, unreachable members as rows."""

from __future__ import annotations

from pathlib import Path

import pytest

from controlroom.availability.board import (
    availability_board,
    cluster_board,
    member_urls,
)
from controlroom.config import Settings
from tests.availability.clusters import Pair


def test_sqlite_is_one_row_without_replication(sqlite_url: str) -> None:
    (row,) = cluster_board([sqlite_url])

    assert (row.role, row.detail) == ("embedded", "embedded SQLite: no replication")
    assert row.takes_writes


def test_an_unreachable_member_is_a_row_not_an_exception() -> None:
    (row,) = cluster_board(
        ["postgresql+psycopg://ops:s3cret@127.0.0.1:1/orders"], connect_timeout=1
    )

    assert row.role == "unreachable"
    assert row.detail.startswith("unreachable: ")
    assert row.url == "postgresql+psycopg://ops:***@127.0.0.1:1/orders"
    assert not row.takes_writes


def test_a_malformed_url_is_a_row_naming_the_problem() -> None:
    (row,) = cluster_board(["postgresql+psycopg://ops:s3cret@h:1,h:x/orders"])

    assert row.role == "unreachable"
    assert "is not a valid URL" in row.detail
    assert "s3cret" not in row.detail + row.url


@pytest.mark.postgres
def test_a_synchronous_pair_shows_its_primary_and_streaming_standby(
    sync_pair: Pair,
) -> None:
    primary, standby = cluster_board([sync_pair.primary.url, sync_pair.standby.url])

    assert (primary.role, primary.server) == (
        "primary",
        f"127.0.0.1:{sync_pair.primary.port}",
    )
    (link,) = primary.standbys
    assert (link.application_name, link.state, link.sync_state) == (
        "node_b",
        "streaming",
        "sync",
    )
    assert link.replay_lag_bytes == 0
    assert (standby.role, standby.receiver_status) == ("standby", "streaming")
    assert primary.detail == "primary, 1 standby(s), 1 synchronous"


@pytest.mark.postgres
def test_after_a_fail_over_the_board_shows_the_new_primary_alone(
    async_pair: Pair,
) -> None:
    async_pair.primary.stop("immediate")
    async_pair.standby.promote()

    old, new = cluster_board(
        [async_pair.primary.url, async_pair.standby.url], connect_timeout=1
    )

    assert old.role == "unreachable"
    assert (new.role, new.standbys, new.takes_writes) == ("primary", (), True)


def test_a_multi_host_url_is_split_into_one_member_per_server() -> None:
    members = member_urls(
        "postgresql+psycopg://ops:pw@127.0.0.1:5441,127.0.0.1:5442/orders"
        "?target_session_attrs=read-write&connect_timeout=2"
    )

    assert members == [
        "postgresql+psycopg://ops:pw@127.0.0.1:5441/orders?connect_timeout=2",
        "postgresql+psycopg://ops:pw@127.0.0.1:5442/orders?connect_timeout=2",
    ]


def test_the_configured_board_falls_back_to_the_database_url(
    tmp_path: Path,
) -> None:
    settings = Settings(
        data_dir=tmp_path,
        database_url="postgresql+psycopg://ops@127.0.0.1:1,127.0.0.1:2/x",
    )

    rows = availability_board(settings)

    assert [row.url for row in rows] == [
        "postgresql+psycopg://ops@127.0.0.1:1/x",
        "postgresql+psycopg://ops@127.0.0.1:2/x",
    ]
    assert {row.role for row in rows} == {"unreachable"}


def test_configured_members_are_asked_instead(tmp_path: Path, sqlite_url: str) -> None:
    settings = Settings(data_dir=tmp_path, cluster_member_urls=[sqlite_url])

    (row,) = availability_board(settings)

    assert row.role == "embedded"
