"""The small known day, on SQLite and (where marked) PostgreSQL."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine

from tests.overview.small_day import SmallDay, build_small_day


@pytest.fixture
def small_day(engine: Engine) -> SmallDay:
    """A migrated SQLite database holding the small day, without users."""
    return build_small_day(engine, users=False)


@pytest.fixture
def small_day_with_users(engine: Engine) -> SmallDay:
    """The small day with one user per role (password ``PASSWORD``)."""
    return build_small_day(engine)


@pytest.fixture
def small_day_anywhere(any_engine: Engine) -> tuple[Engine, SmallDay]:
    """The small day on SQLite and on PostgreSQL."""
    return any_engine, build_small_day(any_engine, users=False)
