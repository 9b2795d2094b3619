"""Migrations on a database full of rows, not only on an empty one."""

from __future__ import annotations

from sqlalchemy import Engine, text

from controlroom.schema import migrate, schema_revisions, upgrade_database
from tests.overview.small_day import build_small_day


def test_a_full_sqlite_database_from_0011_upgrades_with_its_foreign_keys_whole(
    engine: Engine,
) -> None:
    # 0012 rebuilds the parcels table, which stops, invoices and messages
    # point at: SQLite refused that with its foreign keys on.
    build_small_day(engine)
    migrate(engine, "0011", down=True)
    with engine.connect() as connection:
        parcels = connection.execute(text("SELECT count(*) FROM parcels")).scalar()

    upgrade_database(engine)

    with engine.connect() as connection:
        keys = connection.execute(
            text("SELECT idempotency_key, code FROM parcels")
        ).all()
        broken = connection.exec_driver_sql("PRAGMA foreign_key_check").all()
        enforced = connection.exec_driver_sql("PRAGMA foreign_keys").scalar()
    current, head = schema_revisions(engine)
    assert parcels and len(keys) == parcels
    assert all(key == f"legacy-{code}" for key, code in keys)
    assert broken == []
    assert enforced == 1  # switched on again after the migration
    assert current == head
