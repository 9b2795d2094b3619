"""What a fallback order costs and when it is carried out, with no I/O.

The fallback channels sell three parcel sizes instead of the web shop's
free load: a customer texting from a phone cannot weigh and measure. Each
size is priced by the web shop's tariff -- 20,000 sat plus 400 sat per load
unit (the demo world's ``price_for``) -- at the largest load it admits.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum


class ParcelSize(StrEnum):
    """The three sizes a fallback order may name."""

    SMALL = "S"
    MEDIUM = "M"
    LARGE = "L"


@dataclass(frozen=True)
class SizeTerms:
    """How much load a size takes in a van, and what it costs."""

    size: ParcelSize
    words: str
    load: int
    price_sat: int


BASE_PRICE_SAT = 20_000
PRICE_PER_LOAD_UNIT_SAT = 400

SIZES: dict[ParcelSize, SizeTerms] = {
    terms.size: terms
    for terms in (
        SizeTerms(ParcelSize.SMALL, "small: a shoebox, up to 5 kg", 10, 24_000),
        SizeTerms(ParcelSize.MEDIUM, "medium: a moving box, up to 15 kg", 20, 28_000),
        SizeTerms(ParcelSize.LARGE, "large: two boxes, up to 30 kg", 40, 36_000),
    )
}

# No van can be on its way the moment a text arrives: pickup starts an hour
# later and spans four hours; delivery the four hours after that.
PICKUP_LEAD = timedelta(hours=1)
PICKUP_SPAN = timedelta(hours=4)
DELIVERY_SPAN = timedelta(hours=4)
# As long as a fallback wallet's invoice
# (controlroom.payments.wallet_watch.service.FALLBACK_INVOICE_LIFETIME).
PAY_WITHIN = timedelta(hours=1)

SAT_PER_BTC = 100_000_000


def pickup_window(received_at: datetime) -> tuple[datetime, datetime]:
    """Return when an order received at ``received_at`` is picked up."""
    start = received_at + PICKUP_LEAD
    return start, start + PICKUP_SPAN


def delivery_window(received_at: datetime) -> tuple[datetime, datetime]:
    """Return when an order received at ``received_at`` is delivered."""
    _, pickup_until = pickup_window(received_at)
    return pickup_until - PICKUP_SPAN, pickup_until + DELIVERY_SPAN


def btc_amount(sat: int) -> str:
    """Return ``sat`` as BTC with all eight decimals, e.g. ``0.00028000``."""
    if sat < 0:
        raise ValueError(f"an amount is never negative, not {sat} sat")
    return f"{sat // SAT_PER_BTC}.{sat % SAT_PER_BTC:08d}"
