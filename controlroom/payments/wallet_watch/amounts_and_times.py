"""Amounts and times as wallets, explorers and people write them.

Amounts become integer satoshis exactly (BTC through ``Decimal``, never a
float); times become timezone-aware UTC, a time written without a zone being
read in the zone the caller states.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal
from enum import StrEnum
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from controlroom.errors import PaymentError

SAT_PER_BTC = 100_000_000
# No amount can exceed every bitcoin there will ever be (21 million BTC).
MAX_SAT = 21_000_000 * SAT_PER_BTC
_NUMBER = re.compile(r"[0-9]+(\.[0-9]+)?")
_UNIX_SECONDS = re.compile(r"[0-9]{9,10}")
_DATE_ONLY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


class AmountUnit(StrEnum):
    BTC = "btc"
    SAT = "sat"


UNIT_WORDS = {
    "btc": AmountUnit.BTC,
    "sat": AmountUnit.SAT,
    "sats": AmountUnit.SAT,
    "satoshi": AmountUnit.SAT,
    "satoshis": AmountUnit.SAT,
}


def parse_amount(text: str, *, unit: AmountUnit | None) -> int:
    """Return the satoshis ``text`` names, exactly (BTC through Decimal)."""
    value = text.strip()
    words = value.split()
    if len(words) == 2 and words[1].lower() in UNIT_WORDS:
        written = UNIT_WORDS[words[1].lower()]
        if unit is not None and written is not unit:
            raise PaymentError(
                f"{text!r} is in {written.value}, but the column is "
                f"{unit.value}; use one unit for the whole column."
            )
        value, unit = words[0], written
    if not value:
        raise PaymentError("the amount is empty; fill it in or delete the row.")
    if "," in value:
        raise PaymentError(
            f"{value!r} has a comma; write amounts with a decimal point and no "
            "thousands separators (0.00055 BTC, 55000 sat)."
        )
    if not _NUMBER.fullmatch(value.lstrip("+")):
        raise PaymentError(f"{value!r} is not an amount; write e.g. 0.00055 or 55000.")
    if unit is None:
        unit = AmountUnit.BTC if "." in value else None
    if unit is None:
        raise PaymentError(
            f"{value!r} does not say whether it is BTC or sat; add the unit."
        )

    amount = Decimal(value.lstrip("+"))
    exponent = amount.as_tuple().exponent
    decimals = -exponent if isinstance(exponent, int) and exponent < 0 else 0
    if unit is AmountUnit.BTC and decimals > 8:
        raise PaymentError(
            f"{value} BTC has {decimals} decimals; bitcoin has 8 (1 sat = "
            "0.00000001 BTC). Copy the amount again from the wallet."
        )
    if unit is AmountUnit.SAT and amount != amount.to_integral_value():
        raise PaymentError(f"{value} sat is not a whole number of satoshis.")
    sat = int(amount * SAT_PER_BTC) if unit is AmountUnit.BTC else int(amount)
    if sat <= 0:
        raise PaymentError(f"{value} {unit.value} is nothing; a payment is positive.")
    if sat > MAX_SAT:
        raise PaymentError(
            f"{value} {unit.value} is more than 21 million BTC; check the unit."
        )
    return sat


def parse_moment(text: str, *, zone: str | ZoneInfo | None) -> datetime:
    """Return the UTC moment ``text`` names; naive times are in ``zone``."""
    tz = zone_named(zone) if isinstance(zone, str) else zone
    return _moment(text.strip(), tz)


def _moment(text: str, zone: ZoneInfo | None) -> datetime:
    if not text:
        raise PaymentError("the time is empty; give when the payment arrived.")
    if _UNIX_SECONDS.fullmatch(text):
        return datetime.fromtimestamp(int(text), tz=UTC)
    if _DATE_ONLY.fullmatch(text):
        raise PaymentError(
            f"{text!r} gives no time of day; the matching needs it (e.g. "
            "2026-12-04 10:05)."
        )
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise PaymentError(
            f"{text[:40]!r} is not a time the control room reads; write "
            "2026-12-04 10:05 (with a zone, or state the zone) or ISO 8601 "
            "such as 2026-12-04T10:05:00Z."
        ) from None
    if moment.tzinfo is None:
        if zone is None:
            raise PaymentError(
                f"{text!r} names no time zone; state the zone the file's times "
                "are in (e.g. UTC or Europe/Oslo) and import again."
            )
        moment = moment.replace(tzinfo=zone)
    return moment.astimezone(UTC)


def zone_named(name: str | None) -> ZoneInfo | None:
    if not name:
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise PaymentError(
            f"{name!r} is not a time zone; use an IANA name such as UTC or Europe/Oslo."
        ) from None
