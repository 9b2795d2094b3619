"""Fleet and plan tables: depots, drivers, vehicles, plans, routes, stops."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, Integer, String, UniqueConstraint
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
    PICKUP = "pickup"
    DELIVERY = "delivery"


class StopStatus(StrEnum):
    PLANNED = "planned"
    DONE = "done"
    SKIPPED = "skipped"


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

    routes: Mapped[list[Route]] = relationship(back_populates="plan")


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
    """A pickup or delivery of one parcel on a route."""

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

    route: Mapped[Route] = relationship(back_populates="stops")
    parcel: Mapped[Parcel] = relationship()

    __table_args__ = (
        UniqueConstraint("route_id", "sequence"),
        Index("ix_stops_parcel", "parcel_id"),
    )
