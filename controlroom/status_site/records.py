"""What the public may learn of a parcel: coarse status, day and hour band, city.

Pure rules, no I/O. A record holds exactly three strings and nothing else:
the coarse status, the local day and two-hour band of the latest event
(``Fri 4 Dec, 08:00–10:00 CET``), and the city of that event. Minutes are
dropped on purpose: with exact times and a street, a stranger who knows
one parcel's code could tell where a person was at a given minute.

Which city: where the parcel is, as far as a city says it. Before and at
pickup that is the sender's city; once delivered, the recipient's.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from controlroom.orders.models import ParcelStatus

BAND_HOURS = 2
MAX_CITY_CHARS = 40
# English day and month names, fixed here so a build does not depend on the
# machine's locale (the same data and clock must give the same bytes).
DAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
MONTH_NAMES = (
    "Jan", "Feb", "Mar", "Apr", "May", "Jun",
    "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
)  # fmt: skip

STATUS_WORDS = {
    ParcelStatus.ORDERED: "Ordered, waiting for pickup",
    ParcelStatus.PICKED_UP: "Picked up, on its way",
    ParcelStatus.DELIVERED: "Delivered",
    ParcelStatus.CANCELLED: "Cancelled",
}


@dataclass(frozen=True)
class ParcelFacts:
    """The columns a record is made from; no name, phone, street or postcode."""

    code: str
    status: ParcelStatus
    ordered_at: datetime
    picked_up_at: datetime | None
    delivered_at: datetime | None
    sender_city: str
    recipient_city: str
    # From the journal's ParcelCancelled event: parcels keep no column for it.
    cancelled_at: datetime | None = None


@dataclass(frozen=True)
class ParcelRecord:
    """One published record, exactly as the site shows it."""

    status: str
    words: str
    when: str
    city: str

    def as_json(self) -> dict[str, str]:
        """The record as the group file stores it."""
        return {
            "status": self.status,
            "words": self.words,
            "when": self.when,
            "city": self.city,
        }


def local_day(moment: datetime, zone: str) -> str:
    """Return ``Fri 4 Dec`` for a moment, in ``zone``."""
    shown = moment.astimezone(ZoneInfo(zone))
    return f"{DAY_NAMES[shown.weekday()]} {shown.day} {MONTH_NAMES[shown.month - 1]}"


def local_minute(moment: datetime, zone: str) -> str:
    """Return ``Fri 4 Dec 2026, 13:05 CET`` for a moment, in ``zone``."""
    shown = moment.astimezone(ZoneInfo(zone))
    return f"{local_day(moment, zone)} {shown.year}, {shown:%H:%M} {shown:%Z}"


def hour_band(moment: datetime, zone: str) -> str:
    """Return the local day and two-hour band, e.g. ``Fri 4 Dec, 08:00–10:00 CET``."""
    shown = moment.astimezone(ZoneInfo(zone))
    start = shown.hour - shown.hour % BAND_HOURS
    # The band is a span of wall-clock hours; at a daylight-saving change
    # it is one hour shorter or longer, and the zone name says which side.
    end = (start + BAND_HOURS) % 24
    return f"{local_day(moment, zone)}, {start:02d}:00–{end:02d}:00 {shown:%Z}"


def latest_event(facts: ParcelFacts) -> tuple[datetime, str]:
    """Return when the parcel last changed and the city it changed in."""
    if facts.cancelled_at is not None:
        return facts.cancelled_at, facts.sender_city
    if facts.delivered_at is not None:
        return facts.delivered_at, facts.recipient_city
    if facts.picked_up_at is not None:
        return facts.picked_up_at, facts.sender_city
    return facts.ordered_at, facts.sender_city


def public_city(city: str) -> str:
    """Return the city as published, or "" if it looks like more than a city.

    The city is typed by customers; one that carries a digit (a postcode,
    a house number) or runs long may hold an address, so it is left out.
    """
    city = " ".join(city.split())
    if len(city) > MAX_CITY_CHARS or any(char.isdigit() for char in city):
        return ""
    return city


def parcel_record(facts: ParcelFacts, *, zone: str) -> ParcelRecord:
    """Return the public record of one parcel."""
    at, city = latest_event(facts)
    return ParcelRecord(
        status=facts.status.value,
        words=STATUS_WORDS[facts.status],
        when=hour_band(at, zone),
        city=public_city(city),
    )


def is_published(facts: ParcelFacts, *, now: datetime, keep_days: int) -> bool:
    """Tell whether a parcel can be looked up: still open, or recent enough."""
    if facts.status in {ParcelStatus.ORDERED, ParcelStatus.PICKED_UP}:
        return True
    return facts.ordered_at >= now - timedelta(days=keep_days)
