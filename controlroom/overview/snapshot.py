"""One read per screen: everything a screen draws, from one short session."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from controlroom.clock import operating_now
from controlroom.db import read_only
from controlroom.health.posture import Posture, derive_posture
from controlroom.health.service import component_statuses
from controlroom.overview.banner import BannerState, read_banner
from controlroom.overview.city_map import MapPoint, map_points
from controlroom.overview.journal_view import JournalRow, event_kinds, latest_events
from controlroom.overview.parcel_names import PACKAGE_CODES, ParcelNames
from controlroom.overview.queries import (
    DayKpis,
    OperatingDay,
    ParcelFilter,
    ParcelFlow,
    ParcelRow,
    day_kpis,
    operating_day,
    parcel_flow,
    parcel_rows,
)
from controlroom.overview.systems import ComponentRow, component_rows


@dataclass(frozen=True)
class OverviewSnapshot:
    """What the overview screen shows at one moment, its banner included."""

    banner: BannerState
    day: OperatingDay
    kpis: DayKpis
    parcels: list[ParcelRow]
    components: list[ComponentRow]
    posture: Posture
    points: list[MapPoint]
    flow: ParcelFlow


def overview_snapshot(
    engine: Engine,
    *,
    zone: str,
    filters: ParcelFilter,
    names: ParcelNames = PACKAGE_CODES,
    stale_after: timedelta = timedelta(seconds=10),
) -> OverviewSnapshot:
    """Read the overview: banner, KPIs, live table, systems, map and flow.

    The clock is read once, so the banner's time is the screen's time.
    """
    with Session(read_only(engine)) as session:
        day = operating_day(session, zone=zone)
        banner = read_banner(session, stale_after=stale_after, zone=zone, now=day.now)
        return OverviewSnapshot(
            banner=banner,
            day=day,
            kpis=day_kpis(session, day=day),
            parcels=parcel_rows(session, day=day, filters=filters, names=names),
            components=component_rows(session),
            posture=banner.posture,
            points=map_points(session, names=names),
            flow=parcel_flow(session, day=day),
        )


@dataclass(frozen=True)
class HealthSnapshot:
    """What the health screen shows: every component and the posture, at ``now``."""

    components: list[ComponentRow]
    posture: Posture
    now: datetime


def health_snapshot(engine: Engine) -> HealthSnapshot:
    """Read every component with its latest probe, and the posture."""
    with Session(read_only(engine)) as session:
        return HealthSnapshot(
            component_rows(session),
            derive_posture(component_statuses(session)),
            operating_now(session),
        )


@dataclass(frozen=True)
class JournalSnapshot:
    """What the journal screen lists."""

    events: list[JournalRow]
    kinds: list[str]


def journal_snapshot(
    engine: Engine, *, kinds: tuple[str, ...], subject: str
) -> JournalSnapshot:
    """Read the newest events matching the filters, and every kind for the filter."""
    with Session(read_only(engine)) as session:
        return JournalSnapshot(
            latest_events(session, kinds=kinds, subject=subject),
            event_kinds(session),
        )
