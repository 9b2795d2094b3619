"""Fixtures shared by the whole suite: databases on SQLite and PostgreSQL."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from controlroom.db import create_db_engine
from controlroom.schema import upgrade_database
from tests.postgres_cluster import find_pg_bin, new_database, postgres_cluster

REQUIRE_POSTGRES = os.environ.get("CONTROLROOM_REQUIRE_POSTGRES") == "1"
SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
DAY = datetime(2026, 12, 4, 6, 0, tzinfo=UTC)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """One PostgreSQL cluster for the session; each test gets its own database."""
    pg_bin = find_pg_bin()
    if pg_bin is None:
        if REQUIRE_POSTGRES:
            pytest.fail(
                "PostgreSQL is required (CONTROLROOM_REQUIRE_POSTGRES=1) but no "
                "initdb was found; install the postgresql package."
            )
        pytest.skip("PostgreSQL is not installed (no initdb found)")
    with postgres_cluster(pg_bin) as url:
        yield url


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """A URL for a new SQLite file in the test's temporary folder."""
    return f"sqlite:///{tmp_path / 'controlroom.sqlite3'}"


@pytest.fixture
def postgres_url(postgres_server: str) -> str:
    """A URL for a new, empty PostgreSQL database."""
    return new_database(postgres_server)


@pytest.fixture(
    params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def database_url(request: pytest.FixtureRequest) -> str:
    """An empty database, once on SQLite and once on PostgreSQL."""
    if request.param == "sqlite":
        return str(request.getfixturevalue("sqlite_url"))
    return str(request.getfixturevalue("postgres_url"))


@pytest.fixture
def engine(sqlite_url: str) -> Iterator[Engine]:
    """A migrated SQLite database."""
    engine = create_db_engine(sqlite_url)
    upgrade_database(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def any_engine(database_url: str) -> Iterator[Engine]:
    """A migrated database, once on SQLite and once on PostgreSQL."""
    engine = create_db_engine(database_url)
    upgrade_database(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    """A session in an open transaction on a migrated SQLite database."""
    with Session(engine) as session, session.begin():
        yield session
