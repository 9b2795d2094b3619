"""Fixtures for the fail-over drills: replicated PostgreSQL pairs on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.availability.clusters import Pair, replicated_pair
from tests.conftest import REQUIRE_POSTGRES
from tests.postgres_cluster import find_pg_bin


@pytest.fixture(scope="session")
def pg_bin() -> Path:
    """The PostgreSQL server programs, or a skip (a failure in CI) without them."""
    found = find_pg_bin()
    if found is None or not (found / "pg_basebackup").exists():
        if REQUIRE_POSTGRES:
            pytest.fail(
                "PostgreSQL is required (CONTROLROOM_REQUIRE_POSTGRES=1) but "
                "initdb/pg_basebackup were not found; install postgresql."
            )
        pytest.skip("PostgreSQL is not installed (no initdb/pg_basebackup)")
    return found


@pytest.fixture
def sync_pair(pg_bin: Path) -> Iterator[Pair]:
    """A primary that waits for its standby on every commit."""
    with replicated_pair(pg_bin, synchronous=True) as pair:
        yield pair


@pytest.fixture
def async_pair(pg_bin: Path) -> Iterator[Pair]:
    """A primary that acknowledges before its standby has the change."""
    with replicated_pair(pg_bin, synchronous=False) as pair:
        yield pair
