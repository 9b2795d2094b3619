"""Vans, depots and open stops as points on the city map.

Stops are placed at their sender's or recipient's coordinates, rounded to
three decimals (about 100 m) so the overview locates a street, not a door;
names and street addresses are never read, and package codes only for roles
that may see them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session, aliased

from controlroom.dispatch.models import (
    Depot,
    Driver,
    Plan,
    PlanStatus,
    Route,
    Stop,
    StopKind,
    StopStatus,
    Vehicle,
)
from controlroom.orders.models import Parcel, Party
from controlroom.overview.parcel_names import PACKAGE_CODES, ParcelNames

COORDINATE_DECIMALS = 3
# Built once: an alias builds its own columns, which would cost every refresh.
_SENDER = aliased(Party, name="sender")
_RECIPIENT = aliased(Party, name="recipient")


@dataclass(frozen=True)
class MapPoint:
    """One thing on the map: a van, a depot or an open stop."""

    layer: str
    label: str
    status: str
    lat: float
    lon: float
    eta: datetime | None = None


def map_points(
    session: Session, *, names: ParcelNames = PACKAGE_CODES
) -> list[MapPoint]:
    """Return depots, vans and the published plan's open stops."""
    points = [
        MapPoint("depot", name, "depot", lat, lon)
        for name, lat, lon in session.connection()
        .execute(select(Depot.name, Depot.lat, Depot.lon))
        .all()
    ]

    vans = select(
        Vehicle.plate, Driver.callsign, Vehicle.status, Vehicle.lat, Vehicle.lon
    ).outerjoin(Driver, Driver.id == Vehicle.driver_id)
    for plate, callsign, status, lat, lon in session.connection().execute(vans).all():
        label = f"{plate} ({callsign})" if callsign else plate
        points.append(MapPoint("van", label, status.value, lat, lon))

    sender, recipient = _SENDER, _RECIPIENT
    pickup = Stop.kind == StopKind.PICKUP
    stops = (
        select(
            Stop.kind,
            names.column,
            Vehicle.plate,
            Stop.eta,
            # A transfer stop has a place of its own (where a van stopped).
            func.coalesce(Stop.lat, case((pickup, sender.lat), else_=recipient.lat)),
            func.coalesce(Stop.lon, case((pickup, sender.lon), else_=recipient.lon)),
        )
        .join(Route, Route.id == Stop.route_id)
        .join(Plan, Plan.id == Route.plan_id)
        .join(Vehicle, Vehicle.id == Route.vehicle_id)
        .join(Parcel, Parcel.id == Stop.parcel_id)
        .join(sender, sender.id == Parcel.sender_id)
        .join(recipient, recipient.id == Parcel.recipient_id)
        .where(Plan.status == PlanStatus.PUBLISHED, Stop.status == StopStatus.PLANNED)
    )
    for kind, parcel, plate, eta, lat, lon in session.connection().execute(stops).all():
        points.append(
            MapPoint(
                f"open {kind.value}",
                f"{names.name(parcel)} · {plate}",
                kind.value,
                round(lat, COORDINATE_DECIMALS),
                round(lon, COORDINATE_DECIMALS),
                eta,
            )
        )
    return points
