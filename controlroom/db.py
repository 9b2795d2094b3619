"""The database: declarative base, engine with its SQLite pragmas, migrations.

One URL picks the database (``CONTROLROOM_DATABASE_URL``). The embedded default
is a SQLite file in WAL mode; production is PostgreSQL. The caller owns the
session and its transaction::

    with Session(engine) as session, session.begin():
        place_order(session=session, ...)
"""

from __future__ import annotations

import logging
import os
import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

from sqlalchemy import DateTime, Engine, create_engine, event, text
from sqlalchemy.engine import Dialect, make_url
from sqlalchemy.exc import (
    ArgumentError,
    DatabaseError,
    NoSuchModuleError,
    OperationalError,
)
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.types import TypeDecorator

from controlroom.config import ensure_private_folder
from controlroom.errors import (
    DatabaseCorrupt,
    DatabaseUnavailable,
    StorageError,
)

logger = logging.getLogger(__name__)

POSTGRES_CONNECT_TIMEOUT = 5


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp stored as UTC and always returned timezone-aware.

    SQLite keeps no zone, so values are normalised to naive UTC on the way in
    and given back their UTC zone on the way out; naive input is refused.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(
        self, value: datetime | None, dialect: Dialect
    ) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: give it a time zone")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(
        self, value: datetime | None, dialect: Dialect
    ) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Base(DeclarativeBase):
    """Declarative base of every table."""


def utcnow() -> datetime:
    """Return the current time in UTC, timezone-aware."""
    return datetime.now(UTC)


def _sqlite_path(url: str) -> Path | None:
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return None
    database = parsed.database
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return Path(database)


def create_db_engine(url: str, *, create_folder: bool = False) -> Engine:
    """Build an engine for ``url``; nothing connects until it is used.

    SQLite connections get WAL mode, foreign keys, a busy timeout and
    ``BEGIN IMMEDIATE`` so two writers queue instead of failing on a stale
    snapshot. PostgreSQL connections are checked before use (``pool_pre_ping``)
    so a fail-over does not hand out a dead connection. A PostgreSQL URL may
    name several servers, ``postgresql+psycopg://u@h1:5432,h2:5432/db`` with
    ``?target_session_attrs=read-write``: libpq tries them in turn and keeps
    the first that takes writes (``controlroom.availability`` relies on it).
    Without ``connect_timeout`` in the URL, each server gets
    ``POSTGRES_CONNECT_TIMEOUT`` seconds to answer.
    """
    try:
        parsed = make_url(_hosts_as_query(url))
    except (ArgumentError, ValueError) as exc:  # ValueError: a port like ":x"
        shown = _mask_credentials(url)
        raise DatabaseUnavailable(
            f"The database URL {shown!r} is not a valid URL. Expected for example "
            "'sqlite:////path/to/controlroom.sqlite3' or "
            "'postgresql+psycopg://user@host/db'.",
            url=shown,
        ) from exc

    backend = parsed.get_backend_name()
    if backend == "sqlite":
        path = _sqlite_path(url)
        if path is not None and create_folder:
            _create_private_file(path)
        engine = create_engine(url, connect_args={"timeout": 30})
        event.listen(engine, "connect", _configure_sqlite)
        event.listen(engine, "begin", _begin_sqlite)
        return engine
    if backend == "postgresql":
        try:
            # A host that drops packets would stall each connection for
            # minutes before libpq tries the next one in a multi-host URL.
            connect_args = (
                {}
                if "connect_timeout" in parsed.query
                else {"connect_timeout": POSTGRES_CONNECT_TIMEOUT}
            )
            return create_engine(parsed, pool_pre_ping=True, connect_args=connect_args)
        except (ModuleNotFoundError, NoSuchModuleError) as exc:
            raise DatabaseUnavailable(
                f"No driver for {parsed.drivername!r}: use 'postgresql+psycopg://'.",
                url=describe_url(url),
            ) from exc
    raise DatabaseUnavailable(
        f"Unsupported database {backend!r}: the control room runs on SQLite "
        "or PostgreSQL.",
        url=parsed.render_as_string(hide_password=True),
    )


def _create_private_file(path: Path) -> None:
    # The file holds personal data and password hashes: owner-only from the
    # start. SQLite gives its -wal and -shm files the same mode.
    ensure_private_folder(path.parent)
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))
    except IsADirectoryError as exc:
        raise DatabaseUnavailable(
            f"{path} is a folder, not a database file; name a file in the URL.",
            url=str(path),
        ) from exc
    except OSError as exc:
        raise DatabaseUnavailable(
            f"Cannot create the database file {path} ({exc.strerror}).",
            url=str(path),
        ) from exc


def _hosts_as_query(url: str) -> str:
    # libpq's "h1:p1,h2:p2" list does not parse as one host and port, so it
    # becomes SQLAlchemy's multi-host form "@/db?host=h1:p1&host=h2:p2";
    # any other URL is returned unchanged.
    scheme, separator, rest = url.partition("://")
    authority, _, tail = rest.partition("/")
    credentials, at, hosts = authority.rpartition("@")
    if not separator or "," not in hosts or not scheme.startswith("postgresql"):
        return url
    for entry in hosts.split(","):
        host, _, port = entry.partition(":")
        if not host or "[" in host or (port and not port.isdigit()):
            raise ValueError(f"host entry {entry!r} is not 'host' or 'host:port'")
    database, question, query = tail.partition("?")
    host_query = urlencode([("host", entry) for entry in hosts.split(",")])
    joined = f"{host_query}&{query}" if question and query else host_query
    return f"{scheme}://{credentials}{at}/{database}?{joined}"


def _mask_credentials(url: str) -> str:
    # A URL we cannot parse may still carry a password: hide whatever sits
    # between the scheme and the last "@" before the host.
    scheme, separator, rest = url.partition("://")
    authority, slash, path = rest.partition("/")
    if not separator or "@" not in authority:
        return url
    host = authority.rsplit("@", 1)[1]
    return f"{scheme}://***@{host}{slash}{path}"


def _configure_sqlite(dbapi_connection: sqlite3.Connection, _record: Any) -> None:
    # Let SQLAlchemy's "begin" event issue BEGIN itself (pysqlite recipe).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


READ_ONLY_OPTION = "controlroom_read_only"


def _begin_sqlite(connection: Any) -> None:
    # Writers take the write lock up front so two of them queue on the busy
    # timeout instead of one failing on a stale snapshot; readers need no
    # lock in WAL mode and must not wait behind the simulator's writes.
    if connection.get_execution_options().get(READ_ONLY_OPTION):
        connection.exec_driver_sql("BEGIN DEFERRED")
    else:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def read_only(engine: Engine) -> Engine:
    """Return a view of ``engine`` for sessions that only read.

    On SQLite their transactions begin deferred, so screens never queue
    behind a writer; a write attempted through it is not prevented, only
    not protected, so hand writes to the plain engine.
    """
    return engine.execution_options(**{READ_ONLY_OPTION: True})


def describe_url(url: str) -> str:
    """Return ``url`` with any password hidden, for messages and logs.

    A URL naming several PostgreSQL servers is shown as libpq writes it,
    ``user:***@h1:5432,h2:5432/db``, whichever form it was given in.
    """
    try:
        parsed = make_url(_hosts_as_query(url))
    except (ArgumentError, ValueError):
        return "<invalid URL>"
    hosts = parsed.query.get("host")
    if parsed.host or not isinstance(hosts, tuple):
        return parsed.render_as_string(hide_password=True)
    user = quote(parsed.username or "", safe="")
    credentials = f"{user}:***@" if parsed.password else f"{user}@" if user else ""
    rest = urlencode(
        [
            (name, value)
            for name, values in sorted(parsed.query.items())
            if name != "host"
            for value in ((values,) if isinstance(values, str) else values)
        ]
    )
    shown = f"{parsed.drivername}://{credentials}{','.join(hosts)}"
    shown += f"/{parsed.database or ''}"
    return f"{shown}?{rest}" if rest else shown


def explain_database_error(exc: DatabaseError, engine: Engine) -> StorageError:
    """Turn a driver's error into one of ours, with what to do about it."""
    url = describe_url(str(engine.url))
    detail = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
    if "file is not a database" in detail or "malformed" in detail:
        return DatabaseCorrupt(
            f"The database file is not a SQLite database or is damaged ({detail}). "
            "Restore it from a backup, or move it aside and seed a new one.",
            url=url,
        )
    if isinstance(exc, OperationalError) and engine.dialect.name == "sqlite":
        return DatabaseUnavailable(
            f"Cannot open the database file at {url}: {detail}. Check that the "
            "path in CONTROLROOM_DATABASE_URL names a file in a folder you can "
            "write to.",
            url=url,
        )
    if isinstance(exc, OperationalError):
        return DatabaseUnavailable(
            f"Cannot reach the database at {url}: {detail}. Check "
            "CONTROLROOM_DATABASE_URL and that the server is running.",
            url=url,
        )
    return DatabaseUnavailable(f"The database at {url} failed: {detail}", url=url)


def ping(engine: Engine) -> None:
    """Run a trivial query, raising ``DatabaseUnavailable`` if it fails."""
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except DatabaseError as exc:
        raise explain_database_error(exc, engine) from exc
