"""The fleet's settings: shift hours and the travel model, one row."""

from __future__ import annotations

from datetime import datetime, time

from sqlalchemy.orm import Session

from controlroom.dispatch.models import FleetSettings
from controlroom.dispatch.travel import TravelModel
from controlroom.errors import DispatchError
from controlroom.journal import append_event

MINUTES_PER_DAY = 24 * 60


def fleet_settings(session: Session) -> FleetSettings:
    """Return the fleet's settings.

    Raises
    ------
    DispatchError
        If none are stored yet.
    """
    settings = session.get(FleetSettings, 1)
    if settings is None:
        raise DispatchError(
            "The fleet has no shift hours or travel speed yet; set them with "
            "'controlroom fleet set --speed-kmh 12 --shift 07:00-17:00' "
            "(the demo world sets its own)."
        )
    return settings


def travel_model(settings: FleetSettings) -> TravelModel:
    """Return the travel model ``settings`` describe."""
    return TravelModel(settings.minutes_per_degree_lat, settings.minutes_per_degree_lon)


def shift_hours(settings: FleetSettings) -> tuple[time, time]:
    """Return the shift's start and end as local wall-clock times."""

    def clock(minute: int) -> time:
        # 24:00 (the end of the day) is shown as 23:59.
        minute = min(minute, MINUTES_PER_DAY - 1)
        return time(minute // 60, minute % 60)

    return clock(settings.shift_start_minute), clock(settings.shift_end_minute)


def parse_shift(text: str) -> tuple[int, int]:
    """Parse ``"07:00-17:18"`` into minutes after midnight.

    Raises
    ------
    DispatchError
        If the text is not two HH:MM times with the start first.
    """
    parts = text.replace(" ", "").split("-")
    if len(parts) != 2:
        raise DispatchError(
            f"A shift is written as start-end, e.g. 07:00-17:00, not {text!r}."
        )
    minutes = []
    for part in parts:
        hours, _, mins = part.partition(":")
        if not (hours.isdigit() and mins.isdigit() and len(mins) == 2):
            raise DispatchError(f"{part!r} is not a time like 07:00.")
        value = int(hours) * 60 + int(mins)
        if int(mins) >= 60 or value > MINUTES_PER_DAY:
            raise DispatchError(f"{part!r} is not a time of day.")
        minutes.append(value)
    if minutes[0] >= minutes[1]:
        raise DispatchError(
            f"The shift must end after it starts ({parts[0]} to {parts[1]})."
        )
    return minutes[0], minutes[1]


def set_fleet_settings(
    session: Session,
    *,
    travel: TravelModel,
    shift: tuple[int, int],
    at: datetime,
    actor: str,
) -> FleetSettings:
    """Store the fleet's travel model and shift; journal ``FleetSettingsChanged``."""
    start, end = shift
    if not 0 <= start < end <= MINUTES_PER_DAY:
        raise DispatchError(
            f"A shift runs inside one day and ends after it starts, not {start}-{end}."
        )
    settings = session.get(FleetSettings, 1)
    if settings is None:
        settings = FleetSettings(id=1)
        session.add(settings)
    settings.minutes_per_degree_lat = travel.minutes_per_degree_lat
    settings.minutes_per_degree_lon = travel.minutes_per_degree_lon
    settings.shift_start_minute = start
    settings.shift_end_minute = end
    session.flush()
    append_event(
        session,
        kind="FleetSettingsChanged",
        subject="fleet:settings",
        actor=actor,
        occurred_at=at,
        payload={
            "minutes_per_degree_lat": travel.minutes_per_degree_lat,
            "minutes_per_degree_lon": travel.minutes_per_degree_lon,
            "shift_start_minute": start,
            "shift_end_minute": end,
        },
    )
    return settings
