"""Amounts to satoshis exactly, and times to UTC, as people write them."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from controlroom.errors import PaymentError
from controlroom.payments.wallet_watch.amounts_and_times import (
    AmountUnit,
    parse_amount,
    parse_moment,
)


@pytest.mark.parametrize(
    ("text", "unit", "sat"),
    [
        ("0.00055", AmountUnit.BTC, 55_000),
        ("1", AmountUnit.BTC, 100_000_000),
        ("20999999.99999999", AmountUnit.BTC, 2_099_999_999_999_999),
        ("55000", AmountUnit.SAT, 55_000),
        ("0.001 BTC", None, 100_000),
        ("55000 sat", None, 55_000),
    ],
)
def test_amounts_convert_to_sat_exactly(
    text: str, unit: AmountUnit | None, sat: int
) -> None:
    assert parse_amount(text, unit=unit) == sat


@pytest.mark.parametrize(
    ("text", "unit", "problem"),
    [
        ("1e-5", AmountUnit.BTC, "is not an amount"),
        ("0", AmountUnit.SAT, "is nothing"),
        ("55000.5", AmountUnit.SAT, "not a whole number"),
        ("22000000", AmountUnit.BTC, "more than 21 million BTC"),
        ("0.001 BTC", AmountUnit.SAT, "is in btc, but the column is sat"),
    ],
)
def test_amounts_that_cannot_be_exact_are_refused(
    text: str, unit: AmountUnit, problem: str
) -> None:
    with pytest.raises(PaymentError, match=problem):
        parse_amount(text, unit=unit)


@pytest.mark.parametrize(
    ("text", "zone"),
    [
        ("2026-12-04T10:05:00Z", None),
        ("2026-12-04 11:05:00+01:00", None),
        ("2026-12-04 11:05", "Europe/Oslo"),
        ("1796378700", None),
    ],
)
def test_times_become_utc(text: str, zone: str | None) -> None:
    assert parse_moment(text, zone=zone) == datetime(2026, 12, 4, 10, 5, tzinfo=UTC)


def test_a_time_without_a_zone_is_refused_until_one_is_stated() -> None:
    with pytest.raises(PaymentError, match="names no time zone; state the zone"):
        parse_moment("2026-12-04 11:05", zone=None)


def test_an_unknown_zone_is_refused_by_name() -> None:
    with pytest.raises(PaymentError, match="'Mars/Base' is not a time zone"):
        parse_moment("2026-12-04 11:05", zone="Mars/Base")
