"""The statements a replay runs for an event kind, and the rows it builds.

Each kind of journalled event becomes a :class:`Step`: one or more
:class:`Write` statements, each with a function that turns one event into
its parameters. :mod:`controlroom.backup.replay` runs them, a run of events
of one kind as one executemany; the step tables live beside it, one module
per capability (:mod:`.replay_payments`, :mod:`.replay_wallets`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, TypeVar

from sqlalchemy import Executable, Table, bindparam, insert, update

from controlroom.errors import RestoreRefused

Event = Mapping[str, Any]
Row = dict[str, Any]
Build = Callable[[Event, Any], Row | list[Row] | None]
_E = TypeVar("_E", bound=StrEnum)


def table_of(model: type[Any]) -> Table:
    """The table a mapped class writes."""
    table: Table = model.__table__
    return table


@dataclass(frozen=True)
class Write:
    """One statement a kind of event runs, and the parameters each event gives.

    An insert adds one row to ``adds`` per parameter set (an upsert: as many
    as it reports); an update must find the row its ``row`` parameter names
    in ``table``, a ``noun`` the refusal uses.
    """

    statement: Executable
    build: Build
    adds: str | None = None
    table: Table | None = None
    noun: str = ""
    key: str = "id"
    upsert: bool = False


@dataclass(frozen=True)
class Step:
    """How one kind of event is re-applied; ``single``: one event at a time."""

    writes: tuple[Write, ...]
    single: bool = False


def inserts(table: Table, build: Build) -> Write:
    """Insert one row into ``table`` per parameter set ``build`` gives."""
    return Write(insert(table), build, adds=table.name)


def updates(
    table: Table,
    noun: str,
    build: Build,
    columns: Iterable[str] = (),
    fixed: Mapping[str, Any] | None = None,
    *,
    key: str = "id",
) -> Write:
    """Update the row of ``table`` whose ``key`` each parameter set names."""
    values: dict[str, Any] = {
        column: bindparam(f"new_{column}", type_=table.c[column].type)
        for column in columns
    }
    values.update(fixed or {})
    statement = update(table).where(table.c[key] == bindparam("row")).values(values)
    return Write(statement, build, table=table, noun=noun, key=key)


def set_values(row: int, **values: Any) -> Row:
    """The parameters of an update: the row, and its new values."""
    return {"row": row, **{f"new_{name}": value for name, value in values.items()}}


def row_id(event: Event, prefix: str) -> int:
    """The row id the event's subject names; refuse another subject."""
    subject: str = event["subject"]
    kind, _, number = subject.partition(":")
    if kind != prefix or not number.isdigit():
        raise RestoreRefused(
            f"Event {event['seq']} ({event['kind']}) has the subject {subject!r}, "
            f"not {prefix}:<id>; the journal cannot be re-applied."
        )
    return int(number)


def parse_time(text: str) -> datetime:
    """A time a payload holds as ISO 8601 text."""
    return datetime.fromisoformat(text)


def maybe(enum: type[_E], value: str | None) -> _E | None:
    """``value`` as a member of ``enum``, or None."""
    return None if value is None else enum(value)
