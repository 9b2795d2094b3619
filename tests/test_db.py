"""Migrations and the database setting, on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, inspect, text
from sqlalchemy.orm import Session

import controlroom.models  # noqa: F401
from controlroom.config import ensure_private_folder
from controlroom.db import Base, create_db_engine, describe_url, ping, read_only
from controlroom.errors import (
    ConfigurationError,
    DatabaseCorrupt,
    DatabaseUnavailable,
    SchemaOutdated,
)
from controlroom.journal import append_event, verify_journal
from controlroom.schema import (
    alembic_config,
    check_database,
    schema_revisions,
    upgrade_database,
)

MODEL_TABLES = set(Base.metadata.tables)


def tables(engine: Engine) -> set[str]:
    """The tables in the database, without Alembic's own."""
    with engine.connect() as connection:
        return set(inspect(connection).get_table_names()) - {"alembic_version"}


def downgrade_to_base(engine: Engine) -> None:
    """Undo every migration."""
    config = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "base")


def test_migrations_build_exactly_the_models(any_engine: Engine) -> None:
    with any_engine.connect() as connection:
        differences = compare_metadata(
            MigrationContext.configure(connection), Base.metadata
        )

    assert differences == []
    current, head = schema_revisions(any_engine)
    assert current == head


def test_upgrade_from_empty_creates_every_table(database_url: str) -> None:
    engine = create_db_engine(database_url, create_folder=True)

    upgrade_database(engine)

    assert tables(engine) == MODEL_TABLES
    check_database(engine)
    engine.dispose()


def test_upgrading_again_changes_nothing_and_keeps_the_data(
    any_engine: Engine,
) -> None:
    with Session(any_engine) as session, session.begin():
        append_event(session, kind="Kept", subject="x:1", actor="ops")
    revisions = schema_revisions(any_engine)

    upgrade_database(any_engine)

    assert schema_revisions(any_engine) == revisions
    assert tables(any_engine) == MODEL_TABLES
    with Session(any_engine) as session:
        assert verify_journal(session)[0] == 1


def test_downgrade_to_base_and_up_again(any_engine: Engine) -> None:
    downgrade_to_base(any_engine)

    assert tables(any_engine) == set()
    assert schema_revisions(any_engine)[0] is None

    upgrade_database(any_engine)

    assert tables(any_engine) == MODEL_TABLES
    check_database(any_engine)


def test_sqlite_runs_in_wal_mode_with_foreign_keys(engine: Engine) -> None:
    with engine.connect() as connection:
        mode = connection.exec_driver_sql("PRAGMA journal_mode").scalar()
        keys = connection.exec_driver_sql("PRAGMA foreign_keys").scalar()

    assert (mode, keys) == ("wal", 1)


def test_upgrade_creates_the_folder_of_a_new_sqlite_file(tmp_path: Path) -> None:
    path = tmp_path / "new" / "folder" / "controlroom.sqlite3"
    engine = create_db_engine(f"sqlite:///{path}", create_folder=True)

    upgrade_database(engine)

    assert path.exists()
    engine.dispose()


def test_a_missing_file_is_named(tmp_path: Path) -> None:
    engine = create_db_engine(f"sqlite:///{tmp_path / 'absent.sqlite3'}")

    with pytest.raises(DatabaseUnavailable, match=r"absent\.sqlite3 does not exist"):
        check_database(engine)


def test_a_file_of_garbage_is_called_corrupt(tmp_path: Path) -> None:
    path = tmp_path / "garbage.sqlite3"
    path.write_bytes(bytes(range(256)) * 64)
    engine = create_db_engine(f"sqlite:///{path}")

    with pytest.raises(DatabaseCorrupt, match="not a SQLite database"):
        check_database(engine)


def test_an_empty_database_asks_for_an_upgrade(database_url: str) -> None:
    engine = create_db_engine(database_url)
    with engine.begin() as connection:  # creates an empty SQLite file
        connection.execute(text("SELECT 1"))

    with pytest.raises(SchemaOutdated, match="Run 'controlroom db upgrade'"):
        check_database(engine)
    engine.dispose()


def test_a_database_behind_the_code_asks_for_an_upgrade(any_engine: Engine) -> None:
    with any_engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = '0001'"))

    with pytest.raises(SchemaOutdated, match="revision 0001, the code needs"):
        check_database(any_engine)


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("not a url", "is not a valid URL"),
        ("postgresql+psycopg://u@127.0.0.1:port/x", "is not a valid URL"),
        ("mysql://u@127.0.0.1/x", "Unsupported database 'mysql'"),
        ("postgresql+nodriver://u@127.0.0.1/x", "No driver for"),
    ],
)
def test_a_bad_url_is_refused_before_connecting(url: str, message: str) -> None:
    with pytest.raises(DatabaseUnavailable, match=message):
        create_db_engine(url)


def test_an_unreachable_server_is_named_without_its_password() -> None:
    engine = create_db_engine("postgresql+psycopg://ops:s3cret@127.0.0.1:1/x")

    with pytest.raises(DatabaseUnavailable, match="Cannot reach") as unreachable:
        ping(engine)

    assert "s3cret" not in str(unreachable.value)
    assert describe_url(str(engine.url)) == "postgresql+psycopg://ops:***@127.0.0.1:1/x"


def test_a_reader_on_sqlite_does_not_queue_behind_a_writer(engine: Engine) -> None:
    writer = engine.connect()
    writer.begin()  # BEGIN IMMEDIATE: holds the write lock until it ends
    writer.exec_driver_sql("UPDATE journal_head SET seq = seq")

    try:
        with Session(read_only(engine)) as session:
            count = session.scalar(text("SELECT count(*) FROM journal_events"))
    finally:
        writer.rollback()
        writer.close()

    assert count == 0


def test_a_database_missing_a_table_is_reported_damaged(engine: Engine) -> None:
    with engine.begin() as connection:
        connection.exec_driver_sql("DROP TABLE journal_events")

    with pytest.raises(DatabaseCorrupt, match="lacks journal_events: it was damaged"):
        check_database(engine)


def test_a_schema_revision_we_do_not_know_is_refused(engine: Engine) -> None:
    with engine.begin() as connection:
        connection.exec_driver_sql("UPDATE alembic_version SET version_num='beef'")

    with pytest.raises(SchemaOutdated, match="'beef', which this version"):
        check_database(engine)
    with pytest.raises(SchemaOutdated, match="'beef', which this version"):
        upgrade_database(engine)


def test_a_new_database_file_and_its_folder_are_private(tmp_path: Path) -> None:
    path = tmp_path / "data" / "controlroom.sqlite3"

    engine = create_db_engine(f"sqlite:///{path}", create_folder=True)
    upgrade_database(engine)

    assert path.stat().st_mode & 0o777 == 0o600
    assert path.parent.stat().st_mode & 0o777 == 0o700


def test_a_file_in_place_of_the_data_folder_is_named(tmp_path: Path) -> None:
    occupied = tmp_path / "occupied"
    occupied.write_text("not a folder")

    with pytest.raises(ConfigurationError, match="is a file, not a folder"):
        ensure_private_folder(occupied)


def test_a_folder_in_place_of_the_database_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(DatabaseUnavailable, match="is a folder, not a database"):
        create_db_engine(f"sqlite:///{tmp_path}", create_folder=True)


def test_a_database_missing_a_column_is_reported_damaged(engine: Engine) -> None:
    with engine.begin() as connection:
        connection.exec_driver_sql("ALTER TABLE components DROP COLUMN note")

    with pytest.raises(DatabaseCorrupt, match=r"lacks components\.note"):
        check_database(engine)
