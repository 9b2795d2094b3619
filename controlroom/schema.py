"""The schema: migrations, and the check that a database is ours and whole.

Kept apart from :mod:`controlroom.db` because it needs every table's model,
while the models need the base and column types that ``db`` defines.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, inspect
from sqlalchemy.exc import DatabaseError

import controlroom.models  # noqa: F401  (fills the metadata)
from controlroom.db import (
    Base,
    _sqlite_path,
    create_db_engine,
    describe_url,
    explain_database_error,
)
from controlroom.errors import (
    ControlRoomError,
    DatabaseCorrupt,
    DatabaseUnavailable,
    SchemaOutdated,
    StorageError,
)

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def check_database(engine: Engine) -> None:
    """Raise a clear error if the database is missing, corrupt or not migrated."""
    url = str(engine.url)
    path = _sqlite_path(url)
    if path is not None and not path.exists():
        raise DatabaseUnavailable(
            f"The database file {path} does not exist. Create it with "
            "'controlroom db upgrade' (or 'controlroom demo seed' for the demo).",
            url=url,
        )
    try:
        with engine.connect() as connection:
            if engine.dialect.name == "sqlite":
                result = connection.exec_driver_sql("PRAGMA quick_check").scalar()
                if result != "ok":
                    raise DatabaseCorrupt(
                        f"The database file {path} fails its integrity check "
                        f"({result}). Restore it from a backup.",
                        url=url,
                    )
            inspector = inspect(connection)
            tables = set(inspector.get_table_names())
            columns = {
                table: {column["name"] for column in inspector.get_columns(table)}
                for table in _model_columns().keys() & tables
            }
    except DatabaseError as exc:
        raise explain_database_error(exc, engine) from exc

    if "alembic_version" not in tables:
        raise SchemaOutdated(
            f"The database at {describe_url(url)} has no control-room tables. "
            "Run 'controlroom db upgrade'.",
            url=describe_url(url),
        )
    current, head = schema_revisions(engine)
    if current != head:
        raise SchemaOutdated(
            f"The database is at schema revision {current}, the code needs {head}. "
            "Run 'controlroom db upgrade'.",
            url=describe_url(url),
        )
    expected = _model_columns()
    missing = sorted(expected.keys() - tables)
    missing += sorted(
        f"{table}.{column}"
        for table, present in columns.items()
        for column in expected[table] - present
    )
    if missing:
        raise DatabaseCorrupt(
            f"The database at {describe_url(url)} is at the current schema but "
            f"lacks {', '.join(missing)}: it was damaged or tampered with. "
            "Restore it from a backup.",
            url=describe_url(url),
        )


def _model_columns() -> dict[str, set[str]]:
    return {
        name: {column.name for column in table.columns}
        for name, table in Base.metadata.tables.items()
    }


def alembic_config(url: str) -> Any:
    """Return an Alembic configuration pointing at our migrations and ``url``."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def schema_revisions(engine: Engine) -> tuple[str | None, str | None]:
    """Return the database's current schema revision and the code's head."""
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(alembic_config(str(engine.url)))
    with engine.connect() as connection:
        current = MigrationContext.configure(connection).get_current_revision()
    known = {revision.revision for revision in script.walk_revisions()}
    if current is not None and current not in known:
        raise SchemaOutdated(
            f"The database is at schema revision {current!r}, which this version "
            "of the control room does not know: it was made by a newer version, "
            "or altered. Use the matching version, or restore it from a backup.",
            url=describe_url(str(engine.url)),
        )
    return current, script.get_current_head()


def upgrade_database(engine: Engine) -> None:
    """Apply every migration not yet applied; safe to run again."""
    schema_revisions(engine)  # refuses a revision we do not know, readably
    migrate(engine, "head")


def migrate(engine: Engine, revision: str, *, down: bool = False) -> None:
    """Move the schema up (or ``down``) to ``revision`` in one transaction.

    SQLite alters a table by copying it to a new one and dropping the old,
    which a foreign key pointing at it refuses; so on SQLite the keys are
    switched off for the migration, checked whole before it commits, and
    switched on again.
    """
    from alembic import command

    config = alembic_config(engine.url.render_as_string(hide_password=False))
    sqlite = engine.dialect.name == "sqlite"
    try:
        with engine.connect() as connection:
            raw = connection.connection.dbapi_connection
            if sqlite and raw is not None:
                # Outside any transaction, or SQLite ignores it.
                raw.execute("PRAGMA foreign_keys=OFF")
            try:
                with connection.begin():
                    config.attributes["connection"] = connection
                    if down:
                        command.downgrade(config, revision)
                    else:
                        command.upgrade(config, revision)
                    if sqlite:
                        _refuse_broken_keys(connection)
            finally:
                if sqlite and raw is not None:
                    raw.execute("PRAGMA foreign_keys=ON")
    except DatabaseError as exc:
        raise explain_database_error(exc, engine) from exc


def _refuse_broken_keys(connection: Connection) -> None:
    broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
    if broken:
        table, rowid, parent, _ = broken[0]
        raise StorageError(
            f"A migration would leave {len(broken)} row(s) pointing at nothing "
            f"(first: {table} row {rowid} -> {parent}); nothing was changed.",
            url=describe_url(str(connection.engine.url)),
        )


def open_checked_database(url: str) -> Engine:
    """Build an engine for ``url`` and check the database is ours and whole.

    The engine is disposed of again when the check fails, so a caller that
    shows the error holds no connection to a database it cannot use.
    """
    engine = create_db_engine(url)
    try:
        check_database(engine)
    except ControlRoomError:
        engine.dispose()
        raise
    return engine
