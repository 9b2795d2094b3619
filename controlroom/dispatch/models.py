"""Fleet and plan tables: depots, drivers, vehicles, plans, routes, stops."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import (
    JSON,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from controlroom.db import Base, UTCDateTime
from controlroom.orders.models import Parcel, Party, enum_column


class VehicleStatus(StrEnum):
    AVAILABLE = "available"
    ON_ROUTE = "on_route"
    LOST = "lost"


class PlanStatus(StrEnum):
    DRAFT = "draft"
    PUBLISHED = "published"
    SUPERSEDED = "superseded"


class StopKind(StrEnum):
    """What a driver does at a stop.

    A transfer collects a parcel that is already picked up from a van that
    broke down, where it stopped; the parcel stays ``picked_up``.
    """

    PICKUP = "pickup"
    DELIVERY = "delivery"
    TRANSFER = "transfer"


class StopStatus(StrEnum):
    PLANNED = "planned"
    DONE = "done"
    SKIPPED = "skipped"


class DegradationKind(StrEnum):
    """What a dispatcher can declare broken."""

    VEHICLE_LOST = "vehicle_lost"
    AREA_CLOSED = "area_closed"
    ROAD_CLOSED = "road_closed"
    DEPOT_LOST = "depot_lost"
    SCHEDULER_DOWN = "scheduler_down"
    DRIVER_APP_DOWN = "driver_app_down"


class FleetSettings(Base):
    """How the fleet works: shift hours and how fast vans cross town.

    One row. Travel time between two points is the planar distance after
    scaling latitude and longitude differences to minutes
    (``controlroom.dispatch.travel``); shift times are minutes after local
    midnight in the control room's time zone.
    """

    __tablename__ = "fleet_settings"

    id: Mapped[int] = mapped_column(primary_key=True)
    minutes_per_degree_lat: Mapped[float]
    minutes_per_degree_lon: Mapped[float]
    shift_start_minute: Mapped[int] = mapped_column(Integer)
    shift_end_minute: Mapped[int] = mapped_column(Integer)

    __table_args__ = (
        CheckConstraint("id = 1", name="ck_fleet_settings_single_row"),
        CheckConstraint(
            "shift_start_minute >= 0 AND shift_end_minute <= 1440 "
            "AND shift_start_minute < shift_end_minute",
            name="ck_fleet_settings_shift",
        ),
    )


class Degradation(Base):
    """Something a dispatcher declared broken, from when until when.

    ``details`` holds what the kind needs: the vehicle and where it stopped,
    the postcodes closed, the depot lost and its fallback.
    """

    __tablename__ = "degradations"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[DegradationKind] = mapped_column(enum_column(DegradationKind))
    details: Mapped[dict[str, object]] = mapped_column(JSON)
    summary: Mapped[str] = mapped_column(String(200))
    declared_at: Mapped[datetime] = mapped_column(UTCDateTime)
    declared_by: Mapped[str] = mapped_column(String(64))
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ended_by: Mapped[str | None] = mapped_column(String(64))


class Depot(Base):
    """A place vehicles start from and return to."""

    __tablename__ = "depots"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(80), unique=True)
    lat: Mapped[float]
    lon: Mapped[float]


class Driver(Base):
    """A driver, known on screens by call sign; contact details in ``parties``."""

    __tablename__ = "drivers"

    id: Mapped[int] = mapped_column(primary_key=True)
    callsign: Mapped[str] = mapped_column(String(16), unique=True)
    party_id: Mapped[int] = mapped_column(ForeignKey("parties.id"))
    area: Mapped[str] = mapped_column(String(40), default="")

    party: Mapped[Party] = relationship()


class Vehicle(Base):
    """A van with a capacity, a home depot and its last known position."""

    __tablename__ = "vehicles"

    id: Mapped[int] = mapped_column(primary_key=True)
    plate: Mapped[str] = mapped_column(String(16), unique=True)
    capacity: Mapped[int] = mapped_column(Integer)
    depot_id: Mapped[int] = mapped_column(ForeignKey("depots.id"))
    driver_id: Mapped[int | None] = mapped_column(ForeignKey("drivers.id"))
    status: Mapped[VehicleStatus] = mapped_column(
        enum_column(VehicleStatus), default=VehicleStatus.AVAILABLE
    )
    lat: Mapped[float]
    lon: Mapped[float]
    seen_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    depot: Mapped[Depot] = relationship()
    driver: Mapped[Driver | None] = relationship()


class Plan(Base):
    """One version of the day's routes; re-planning makes a new version."""

    __tablename__ = "plans"

    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[int] = mapped_column(Integer, unique=True)
    status: Mapped[PlanStatus] = mapped_column(
        enum_column(PlanStatus), default=PlanStatus.DRAFT
    )
    reason: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by: Mapped[str] = mapped_column(String(64))
    base_version: Mapped[int | None] = mapped_column(Integer)
    engine: Mapped[str] = mapped_column(String(40), default="", server_default="")
    distance_km: Mapped[float | None]

    routes: Mapped[list[Route]] = relationship(back_populates="plan")
    unserved: Mapped[list[PlanUnserved]] = relationship(
        back_populates="plan", order_by="PlanUnserved.id"
    )


class PlanUnserved(Base):
    """A parcel a plan version leaves out, and why (the planner's own check)."""

    __tablename__ = "plan_unserved"

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("plans.id"))
    parcel_id: Mapped[int] = mapped_column(ForeignKey("parcels.id"))
    reason: Mapped[str] = mapped_column(String(40))
    explanation: Mapped[str] = mapped_column(String(300))

    plan: Mapped[Plan] = relationship(back_populates="unserved")
    parcel: Mapped[Parcel] = relationship()

    __table_args__ = (UniqueConstraint("plan_id", "parcel_id"),)


class Route(Base):
    """A vehicle's ordered stops within one plan."""

    __tablename__ = "routes"

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("plans.id"))
    vehicle_id: Mapped[int] = mapped_column(ForeignKey("vehicles.id"))
    driver_id: Mapped[int | None] = mapped_column(ForeignKey("drivers.id"))

    plan: Mapped[Plan] = relationship(back_populates="routes")
    vehicle: Mapped[Vehicle] = relationship()
    driver: Mapped[Driver | None] = relationship()
    stops: Mapped[list[Stop]] = relationship(
        back_populates="route", order_by="Stop.sequence"
    )

    __table_args__ = (UniqueConstraint("plan_id", "vehicle_id"),)


class Stop(Base):
    """A pickup, delivery or transfer of one parcel on a route.

    ``lat``/``lon`` are set only where the stop is not at the sender or the
    recipient: a transfer from a van that broke down, where it stopped.
    """

    __tablename__ = "stops"

    id: Mapped[int] = mapped_column(primary_key=True)
    route_id: Mapped[int] = mapped_column(ForeignKey("routes.id"))
    sequence: Mapped[int] = mapped_column(Integer)
    parcel_id: Mapped[int] = mapped_column(ForeignKey("parcels.id"))
    kind: Mapped[StopKind] = mapped_column(enum_column(StopKind))
    status: Mapped[StopStatus] = mapped_column(
        enum_column(StopStatus), default=StopStatus.PLANNED
    )
    eta: Mapped[datetime] = mapped_column(UTCDateTime)
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    late: Mapped[bool] = mapped_column(default=False, server_default=false())
    lat: Mapped[float | None]
    lon: Mapped[float | None]

    route: Mapped[Route] = relationship(back_populates="stops")
    parcel: Mapped[Parcel] = relationship()

    __table_args__ = (
        UniqueConstraint("route_id", "sequence"),
        Index("ix_stops_parcel", "parcel_id"),
    )

    @property
    def side(self) -> str:
        """``"deliver"`` or ``"collect"`` (a pickup or a transfer): one per parcel."""
        return "deliver" if self.kind is StopKind.DELIVERY else "collect"

    @property
    def party(self) -> Party:
        """Whose door the stop is at: the recipient's, else the sender's."""
        return (
            self.parcel.recipient
            if self.kind is StopKind.DELIVERY
            else self.parcel.sender
        )

    @property
    def place(self) -> tuple[float, float]:
        """Where the stop is, (lat, lon): its own place for a transfer."""
        if self.lat is not None and self.lon is not None:
            return self.lat, self.lon
        return self.party.lat, self.party.lon

    @property
    def promised_by(self) -> datetime | None:
        """The end of the window promised for this stop; a transfer has none."""
        if self.kind is StopKind.TRANSFER:
            return None
        if self.kind is StopKind.DELIVERY:
            return self.parcel.deliver_until
        return self.parcel.pickup_until
