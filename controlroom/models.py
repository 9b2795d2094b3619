"""Every table, imported in one place so the metadata is complete."""

import controlroom.backup.models
import controlroom.broadcasts.models
import controlroom.driver_sms.models
import controlroom.fallback_orders.models
import controlroom.incidents.models
import controlroom.payments.lightning.models
import controlroom.payments.tracking.models

# Imported for their tables only (one name binds them all, hence one noqa).
import controlroom.payments.wallet_watch.models  # noqa: F401
from controlroom.auth.models import Role, User
from controlroom.clock import SimulatedClock
from controlroom.db import Base
from controlroom.dispatch.models import (
    Degradation,
    DegradationKind,
    Depot,
    Driver,
    FleetSettings,
    Plan,
    PlanStatus,
    PlanUnserved,
    Route,
    Stop,
    StopKind,
    StopStatus,
    Vehicle,
    VehicleStatus,
)
from controlroom.health.models import (
    Component,
    ComponentKind,
    ComponentState,
    HealthReport,
)
from controlroom.journal.models import JournalEvent, JournalHead
from controlroom.orders.models import (
    CustomerKind,
    OrderChannel,
    Parcel,
    ParcelStatus,
    Party,
    PartyKind,
)
from controlroom.payments.models import (
    Invoice,
    InvoiceException,
    InvoiceStatus,
    Payment,
    PaymentMethod,
    PaymentState,
)

__all__ = [
    "Base",
    "Component",
    "ComponentKind",
    "ComponentState",
    "CustomerKind",
    "Degradation",
    "DegradationKind",
    "Depot",
    "Driver",
    "FleetSettings",
    "HealthReport",
    "Invoice",
    "InvoiceException",
    "InvoiceStatus",
    "JournalEvent",
    "JournalHead",
    "OrderChannel",
    "Parcel",
    "ParcelStatus",
    "Party",
    "PartyKind",
    "Payment",
    "PaymentMethod",
    "PaymentState",
    "Plan",
    "PlanStatus",
    "PlanUnserved",
    "Role",
    "Route",
    "SimulatedClock",
    "Stop",
    "StopKind",
    "StopStatus",
    "User",
    "Vehicle",
    "VehicleStatus",
]
