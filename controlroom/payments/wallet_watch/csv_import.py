"""Observed payments from a wallet's or an explorer's CSV export.

The columns are found by their headers, whatever the tool calls them:
an address (``address``, ``receiving address`` ...), an amount (``amount``,
``value``; in BTC or sat, said by the header, by the operator, or by a
decimal point in the values), the time (``date``, ``time``, ``timestamp``
...: ISO 8601 with a zone, ``YYYY-MM-DD HH:MM`` in a zone the header or
the operator states, or Unix seconds) and, if there is one, the txid.

A file is taken whole or not at all: every bad row is named with its row
number (the header is row 1, as in a spreadsheet), its column, what is wrong
and what to do. Outgoing lines (negative amounts) are skipped and said so.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from zoneinfo import ZoneInfo

from controlroom.errors import ImportRefused, PaymentError
from controlroom.payments.addresses import Network, parse_address
from controlroom.payments.wallet_watch.amounts_and_times import (
    UNIT_WORDS,
    AmountUnit,
    parse_amount,
    parse_moment,
    zone_named,
)

MAX_BYTES = 1_000_000
MAX_ROWS = 5_000
# The message names this many problems; ``ImportRefused.problems`` has all.
SHOWN_PROBLEMS = 30

_TXID = re.compile(r"[0-9a-f]{64}")
_WORDS = re.compile(r"[a-z]+")


class Column(StrEnum):
    ADDRESS = "address"
    AMOUNT = "amount"
    TIME = "time"
    TXID = "txid"


_TIME_WORDS = frozenset({"date", "time", "datetime", "timestamp"})
_NOT_ADDRESS_WORDS = frozenset({"label", "note", "name", "type"})


@dataclass(frozen=True)
class ObservedRow:
    """One incoming payment read from the file."""

    row: int
    address: str
    amount_sat: int
    observed_at: datetime
    txid: str | None


@dataclass(frozen=True)
class ObservationFile:
    """What a file holds: its incoming payments and the lines skipped."""

    file_name: str
    rows: tuple[ObservedRow, ...]
    skipped: tuple[str, ...]


@dataclass(frozen=True)
class _Layout:
    columns: dict[Column, int]
    unit: AmountUnit | None
    zone: ZoneInfo | None


def read_observations(
    content: bytes,
    *,
    file_name: str,
    networks: Collection[Network],
    zone: str | None = None,
    unit: AmountUnit | None = None,
) -> ObservationFile:
    """Read the incoming payments of a CSV export, or refuse the whole file.

    ``zone`` is the time zone of times written without one; ``unit`` the
    unit of amounts whose header does not say it.
    """
    text = _decode(content, file_name)
    table = _table(text, file_name)
    header, body = table[0], table[1:]
    if len(body) > MAX_ROWS:
        raise ImportRefused(
            f"{file_name} has {len(body):,} rows; at most {MAX_ROWS:,} are read "
            "at once. Split the file and import the parts."
        )
    layout = _layout(header, file_name, zone=zone_named(zone), unit=unit)
    if layout.unit is None:
        layout = _with_unit_from_values(layout, body, header, file_name)

    rows: list[ObservedRow] = []
    skipped: list[str] = []
    problems: list[str] = []
    bad_rows = 0
    for number, cells in enumerate(body, start=2):
        before = len(problems)
        if not any(cell.strip() for cell in cells):
            continue
        if len(cells) < len(header):
            problems.append(
                f"Row {number}: it has {len(cells)} cells and the header "
                f"{len(header)}; the line is cut short or a separator is missing."
            )
            bad_rows += 1
            continue
        read = _row(number, cells, layout, networks, problems)
        bad_rows += len(problems) > before
        if isinstance(read, str):
            skipped.append(read)
        elif read is not None:
            rows.append(read)

    if problems:
        raise ImportRefused(_refusal(file_name, problems, bad_rows), problems=problems)
    return ObservationFile(file_name, tuple(rows), tuple(skipped))


def _decode(content: bytes, file_name: str) -> str:
    if len(content) > MAX_BYTES:
        raise ImportRefused(
            f"{file_name} is {len(content):,} bytes; at most {MAX_BYTES:,} are "
            "read at once. Export a shorter period or split the file."
        )
    try:
        return content.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ImportRefused(
            f"{file_name} is not UTF-8 text. Save it again as 'CSV UTF-8' and "
            "import it again."
        ) from None


def _table(text: str, file_name: str) -> list[list[str]]:
    first_line = text.split("\n", 1)[0]
    separator = max(",;\t", key=first_line.count)
    try:
        table = [
            row
            for row in csv.reader(io.StringIO(text, newline=""), delimiter=separator)
        ]
    except csv.Error as exc:
        raise ImportRefused(
            f"{file_name} cannot be read as CSV ({exc}). Export it from the "
            "wallet or explorer again as CSV."
        ) from None
    if not table or not any(cell.strip() for cell in table[0]):
        raise ImportRefused(f"{file_name} is empty: there is no header row.")
    return table


def _layout(
    header: list[str],
    file_name: str,
    *,
    zone: ZoneInfo | None,
    unit: AmountUnit | None,
) -> _Layout:
    found: dict[Column, list[int]] = {column: [] for column in Column}
    header_unit: AmountUnit | None = None
    header_zone: ZoneInfo | None = None
    for position, title in enumerate(header):
        words = _WORDS.findall(title.lower())
        column = _column_of(words)
        if column is None:
            continue
        found[column].append(position)
        if column is Column.AMOUNT:
            header_unit = next((UNIT_WORDS[w] for w in words if w in UNIT_WORDS), None)
        if column is Column.TIME and ("utc" in words or "gmt" in words):
            header_zone = ZoneInfo("UTC")

    for column, positions in found.items():
        titles = ", ".join(repr(header[p].strip()) for p in positions)
        if len(positions) > 1:
            raise ImportRefused(
                f"{file_name}: several columns could be the {column.value} "
                f"({titles}); delete or rename all but one and import again."
            )
        if not positions and column is not Column.TXID:
            raise ImportRefused(
                f"{file_name} has no {column.value} column. The header row must "
                f"name one (e.g. {_EXAMPLES[column]}); it has "
                f"{', '.join(repr(h.strip()) for h in header)}."
            )
    if header_unit is not None and unit is not None and header_unit is not unit:
        raise ImportRefused(
            f"{file_name}: the amount header says {header_unit.value}, but the "
            f"import was asked to read {unit.value}. Choose the unit the file uses."
        )
    columns = {column: positions[0] for column, positions in found.items() if positions}
    return _Layout(columns, header_unit or unit, header_zone or zone)


_EXAMPLES = {
    Column.ADDRESS: "'address'",
    Column.AMOUNT: "'amount_btc', 'amount_sat' or 'value'",
    Column.TIME: "'date' or 'timestamp'",
    Column.TXID: "'txid'",
}


def _column_of(words: list[str]) -> Column | None:
    # Order matters: "Address label" is no address, "Received at" is a
    # time and "Received" an amount; "Block height" is none of them.
    if not words:
        return None
    first = words[0]
    if "address" in words and not _NOT_ADDRESS_WORDS & set(words):
        return Column.ADDRESS
    if words in (["addr"], ["to"]):
        return Column.ADDRESS
    if "txid" in words or first in ("tx", "transaction") or words == ["hash"]:
        return Column.TXID
    if _TIME_WORDS & set(words) or (len(words) > 1 and words[-1] == "at"):
        return Column.TIME
    if first in ("amount", "value", "received") or first in UNIT_WORDS:
        return Column.AMOUNT
    return None


def _with_unit_from_values(
    layout: _Layout, body: list[list[str]], header: list[str], file_name: str
) -> _Layout:
    # A decimal point is how BTC amounts are written; whole numbers alone
    # could be either unit, and guessing wrong is off by 10^8.
    position = layout.columns[Column.AMOUNT]
    values = [cells[position] for cells in body if len(cells) > position]
    if any("." in value for value in values):
        return _Layout(layout.columns, AmountUnit.BTC, layout.zone)
    raise ImportRefused(
        f"{file_name}: the amount column {header[position].strip()!r} does not "
        "say its unit and holds whole numbers only, which could be BTC or sat. "
        "Choose the unit when importing, or name the column 'amount_sat' or "
        "'amount_btc'."
    )


def _row(
    number: int,
    cells: list[str],
    layout: _Layout,
    networks: Collection[Network],
    problems: list[str],
) -> ObservedRow | str | None:
    """Read one row; a string says why an outgoing row was skipped."""
    columns = layout.columns
    before = len(problems)

    def refuse(column: Column, problem: str) -> None:
        problems.append(f"Row {number}, {column.value}: {problem}")

    amount_text = cells[columns[Column.AMOUNT]].strip()
    if amount_text.startswith("-"):
        return f"Row {number}: outgoing ({amount_text}), skipped."
    amount = None
    try:
        amount = parse_amount(amount_text, unit=layout.unit)
    except PaymentError as exc:
        refuse(Column.AMOUNT, str(exc))

    address = None
    address_text = cells[columns[Column.ADDRESS]].strip()
    try:
        address = _address(address_text, networks)
    except PaymentError as exc:
        refuse(Column.ADDRESS, f"{address_text[:100]!r}: {exc}")

    moment = None
    try:
        moment = parse_moment(cells[columns[Column.TIME]], zone=layout.zone)
    except PaymentError as exc:
        refuse(Column.TIME, str(exc))

    txid = None
    if Column.TXID in columns:
        txid = cells[columns[Column.TXID]].strip().lower() or None
        if txid is not None and not _TXID.fullmatch(txid):
            refuse(
                Column.TXID,
                f"{txid[:80]!r} is not a txid (64 hexadecimal characters); "
                "copy it again from the explorer or leave the cell empty.",
            )

    if len(problems) > before or amount is None or address is None or moment is None:
        return None
    return ObservedRow(number, address, amount, moment, txid)


def _address(text: str, networks: Collection[Network]) -> str:
    if not networks:
        raise PaymentError("add a fallback wallet first, so its network is known.")
    first_error: PaymentError | None = None
    for network in networks:
        try:
            return parse_address(text, network=network).text
        except PaymentError as exc:
            first_error = first_error or exc
    assert first_error is not None
    raise first_error


def _refusal(file_name: str, problems: list[str], bad_rows: int) -> str:
    shown = problems[:SHOWN_PROBLEMS]
    more = len(problems) - len(shown)
    lines = "\n".join(f"- {problem}" for problem in shown)
    tail = f"\n- … and {more} more." if more else ""
    noun = "row has a problem" if bad_rows == 1 else "rows have problems"
    return (
        f"{file_name} was not imported, not even in part: {bad_rows} "
        f"{noun}. Correct them in the file and import it again.\n{lines}{tail}"
    )
