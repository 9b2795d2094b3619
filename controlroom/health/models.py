"""System components, their current state, and the health reports behind it."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from controlroom.db import Base, UTCDateTime
from controlroom.orders.models import enum_column


class ComponentState(StrEnum):
    """The words status pages use (Atlassian Statuspage's component states)."""

    OPERATIONAL = "operational"
    DEGRADED_PERFORMANCE = "degraded_performance"
    PARTIAL_OUTAGE = "partial_outage"
    MAJOR_OUTAGE = "major_outage"
    UNDER_MAINTENANCE = "under_maintenance"

    @property
    def label(self) -> str:
        """The state as a person reads it."""
        return self.value.replace("_", " ").capitalize()

    @property
    def is_down(self) -> bool:
        """Whether the component cannot be relied on for its job."""
        return self in {
            ComponentState.PARTIAL_OUTAGE,
            ComponentState.MAJOR_OUTAGE,
            ComponentState.UNDER_MAINTENANCE,
        }


class ComponentKind(StrEnum):
    WEB_SHOP = "web_shop"
    PAYMENT_NODE = "payment_node"
    PAYMENT_TRACKER = "payment_tracker"
    ORDER_DB_PRIMARY = "order_db_primary"
    ORDER_DB_STANDBY = "order_db_standby"
    ROUTE_SCHEDULER = "route_scheduler"
    DRIVER_APP = "driver_app"
    SMS_GATEWAY = "sms_gateway"
    STATUS_SITE = "status_site"
    # The streaming backup of the journal (controlroom.backup): down means
    # acknowledged orders exist on fewer places than promised.
    BACKUP = "backup"


class Component(Base):
    """One system the promise depends on, with its current state."""

    __tablename__ = "components"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(48), unique=True)
    name: Mapped[str] = mapped_column(String(80))
    kind: Mapped[ComponentKind] = mapped_column(enum_column(ComponentKind, 32))
    region: Mapped[str] = mapped_column(String(32), default="")
    provider: Mapped[str] = mapped_column(String(32), default="")
    state: Mapped[ComponentState] = mapped_column(
        enum_column(ComponentState, 32), default=ComponentState.OPERATIONAL
    )
    state_since: Mapped[datetime] = mapped_column(UTCDateTime)
    note: Mapped[str] = mapped_column(String(240), default="")
    # Who declared the current state by hand. While set, health probes are
    # recorded but do not change the state: a person's "major outage" holds
    # until a person releases it.
    held_by: Mapped[str | None] = mapped_column(String(64))

    @property
    def subject(self) -> str:
        """The journal subject of this component."""
        return f"component:{self.key}"


class HealthReport(Base):
    """One probe result: telemetry, kept apart from the journal's state changes."""

    __tablename__ = "health_reports"

    id: Mapped[int] = mapped_column(primary_key=True)
    component_id: Mapped[int] = mapped_column(ForeignKey("components.id"))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    state: Mapped[ComponentState] = mapped_column(enum_column(ComponentState, 32))
    latency_ms: Mapped[int | None] = mapped_column(Integer)
    detail: Mapped[str] = mapped_column(String(240), default="")

    __table_args__ = (Index("ix_health_reports_component_at", "component_id", "at"),)
