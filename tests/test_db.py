"""Migrations and the database setting, on SQLite and PostgreSQL."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine

import controlroom.models  # noqa: F401
from controlroom.db import Base, schema_revisions


def test_migrations_build_exactly_the_models(any_engine: Engine) -> None:
    with any_engine.connect() as connection:
        differences = compare_metadata(
            MigrationContext.configure(connection), Base.metadata
        )

    assert differences == []
    current, head = schema_revisions(any_engine)
    assert current == head
