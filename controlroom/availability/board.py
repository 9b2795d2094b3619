"""The cluster board: each database server's role and replication state.

A read model for the "Backups and fail-over" screen: it asks every member
it is given, in turn, and turns a member it cannot reach into a row that
says so, never an exception. The embedded SQLite default has one row and no
replication.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from sqlalchemy import Connection, create_engine, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.pool import NullPool

from controlroom.config import Settings
from controlroom.db import create_db_engine, describe_url
from controlroom.errors import StorageError

logger = logging.getLogger(__name__)

Role = Literal["primary", "standby", "unreachable", "embedded"]


@dataclass(frozen=True)
class StandbyLink:
    """One standby as its primary sees it (``pg_stat_replication``)."""

    application_name: str
    client_addr: str | None
    state: str
    sync_state: str
    replay_lag_seconds: float | None
    replay_lag_bytes: int | None


@dataclass(frozen=True)
class MemberRow:
    """One server of the cluster, or the reason it could not be asked.

    ``standbys`` is filled for a primary; ``receiver_status`` (its WAL
    receiver, e.g. "streaming") and ``seconds_since_last_replay`` (time since
    the last replayed commit was made; it grows while nobody writes) for a
    standby.
    """

    url: str
    role: Role
    detail: str
    server: str | None = None
    standbys: tuple[StandbyLink, ...] = ()
    receiver_status: str | None = None
    seconds_since_last_replay: float | None = None

    @property
    def takes_writes(self) -> bool:
        """True for a reachable primary (and the embedded SQLite file)."""
        return self.role in ("primary", "embedded")


def cluster_board(urls: Sequence[str], *, connect_timeout: int = 2) -> list[MemberRow]:
    """Ask each member for its role and replication state, one row each."""
    return [_ask_member(url, connect_timeout) for url in urls]


def availability_board(settings: Settings) -> list[MemberRow]:
    """The board for the configured cluster (``cluster_member_urls``).

    Unset, each host of the database URL is one member, so a multi-host
    ``CONTROLROOM_DATABASE_URL`` shows both servers and the SQLite default
    its single row.
    """
    urls = settings.cluster_member_urls or member_urls(settings.resolved_database_url)
    return cluster_board(urls)


def member_urls(database_url: str) -> list[str]:
    """Split a multi-host PostgreSQL URL into one URL per server."""
    try:
        engine = create_db_engine(database_url)
    except StorageError:
        return [database_url]
    hosts = engine.url.query.get("host")
    if engine.dialect.name != "postgresql" or not isinstance(hosts, tuple):
        return [database_url]
    members = []
    for entry in hosts:
        host, _, port = entry.partition(":")
        single = engine.url.difference_update_query(
            ["host", "target_session_attrs"]
        ).set(host=host, port=int(port) if port else None)
        members.append(single.render_as_string(hide_password=False))
    return members


def _ask_member(url: str, connect_timeout: int) -> MemberRow:
    shown = describe_url(url)
    try:
        engine = create_db_engine(url)
    except StorageError as exc:
        return MemberRow(url=shown, role="unreachable", detail=str(exc))
    if engine.dialect.name == "sqlite":
        return MemberRow(
            url=shown, role="embedded", detail="embedded SQLite: no replication"
        )

    # A board must answer quickly even when a member's host is gone.
    probe = create_engine(
        engine.url,
        poolclass=NullPool,
        connect_args={"connect_timeout": connect_timeout},
    )
    try:
        with probe.connect() as connection:
            return _read_member(connection, shown)
    except DBAPIError as exc:
        detail = str(exc.orig or exc).strip().splitlines()[0]
        logger.info("cluster member unreachable url=%s error=%s", shown, detail)
        return MemberRow(url=shown, role="unreachable", detail=f"unreachable: {detail}")
    finally:
        probe.dispose()


def _read_member(connection: Connection, shown: str) -> MemberRow:
    in_recovery, address, port = connection.execute(
        text("SELECT pg_is_in_recovery(), host(inet_server_addr()), inet_server_port()")
    ).one()
    server = f"{address}:{port}" if address else None
    if not in_recovery:
        standbys = tuple(_standby_links(connection))
        synchronous = sum(link.sync_state == "sync" for link in standbys)
        return MemberRow(
            url=shown,
            role="primary",
            detail=f"primary, {len(standbys)} standby(s), {synchronous} synchronous",
            server=server,
            standbys=standbys,
        )

    status, delay = connection.execute(
        text(
            "SELECT (SELECT status FROM pg_stat_wal_receiver), "
            "EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp())"
        )
    ).one()
    receiving = status or "not receiving"
    return MemberRow(
        url=shown,
        role="standby",
        detail=f"standby, WAL receiver {receiving}",
        server=server,
        receiver_status=status,
        seconds_since_last_replay=float(delay) if delay is not None else None,
    )


def _standby_links(connection: Connection) -> list[StandbyLink]:
    rows = connection.execute(
        text(
            "SELECT application_name, host(client_addr), state, sync_state, "
            "EXTRACT(EPOCH FROM replay_lag), "
            "pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn) "
            "FROM pg_stat_replication ORDER BY application_name"
        )
    ).all()
    return [
        StandbyLink(
            application_name=name,
            client_addr=client,
            state=state,
            sync_state=sync_state,
            replay_lag_seconds=float(lag) if lag is not None else None,
            replay_lag_bytes=int(behind) if behind is not None else None,
        )
        for name, client, state, sync_state, lag, behind in rows
    ]
