"""A journal with a few events in it, on SQLite and on PostgreSQL."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine

from tests.journal.tampering import append_numbered


@pytest.fixture
def journal_of_six(any_engine: Engine) -> Engine:
    """A migrated database whose journal holds six events."""
    append_numbered(any_engine, 6)
    return any_engine
