"""Order tables: parties (personal data) apart from parcels (status only)."""

from __future__ import annotations

import secrets
from datetime import datetime
from enum import StrEnum

from sqlalchemy import Enum, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from controlroom.db import Base, UTCDateTime, utcnow

IDEMPOTENCY_KEY_LENGTH = 64


def new_idempotency_key() -> str:
    """Return a fresh random idempotency key for an order that brought none."""
    return f"auto-{secrets.token_hex(16)}"


def enum_column(enum: type[StrEnum], length: int = 24) -> Enum:
    """Store a ``StrEnum`` by its value, checked, portable to every backend."""
    return Enum(
        enum,
        native_enum=False,
        length=length,
        values_callable=lambda members: [member.value for member in members],
        validate_strings=True,
        create_constraint=False,
    )


class PartyKind(StrEnum):
    CUSTOMER = "customer"
    DRIVER = "driver"


class CustomerKind(StrEnum):
    NEW = "new"
    REGULAR = "regular"


class ParcelStatus(StrEnum):
    ORDERED = "ordered"
    PICKED_UP = "picked_up"
    DELIVERED = "delivered"
    CANCELLED = "cancelled"


class OrderChannel(StrEnum):
    WEB_SHOP = "web_shop"
    STATIC_PAGE = "static_page"
    ONION_MIRROR = "onion_mirror"
    SMS = "sms"
    PHONE = "phone"  # taken by staff on a call


class Party(Base):
    """A person's contact details. The only table with personal data.

    Parcels point here; the status site, exports for analysts and the
    journal's analyst view never read this table.
    """

    __tablename__ = "parties"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[PartyKind] = mapped_column(enum_column(PartyKind))
    name: Mapped[str] = mapped_column(String(120))
    phone: Mapped[str] = mapped_column(String(32))
    street: Mapped[str] = mapped_column(String(160))
    postcode: Mapped[str] = mapped_column(String(12))
    city: Mapped[str] = mapped_column(String(80))
    lat: Mapped[float]
    lon: Mapped[float]
    customer_kind: Mapped[CustomerKind] = mapped_column(
        enum_column(CustomerKind), default=CustomerKind.NEW
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Parcel(Base):
    """One order: a parcel to pick up from a sender and deliver to a recipient."""

    __tablename__ = "parcels"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(16), unique=True)
    # Names one order however often it is submitted: a commit that timed
    # out, a fallback order merged back twice (controlroom.fallback_orders).
    idempotency_key: Mapped[str] = mapped_column(
        String(IDEMPOTENCY_KEY_LENGTH), default=new_idempotency_key
    )
    status: Mapped[ParcelStatus] = mapped_column(
        enum_column(ParcelStatus), default=ParcelStatus.ORDERED
    )
    channel: Mapped[OrderChannel] = mapped_column(
        enum_column(OrderChannel), default=OrderChannel.WEB_SHOP
    )
    sender_id: Mapped[int] = mapped_column(ForeignKey("parties.id"))
    recipient_id: Mapped[int] = mapped_column(ForeignKey("parties.id"))
    load: Mapped[int] = mapped_column(Integer)
    service_minutes: Mapped[int] = mapped_column(Integer, default=5)
    pickup_from: Mapped[datetime] = mapped_column(UTCDateTime)
    pickup_until: Mapped[datetime] = mapped_column(UTCDateTime)
    deliver_from: Mapped[datetime] = mapped_column(UTCDateTime)
    deliver_until: Mapped[datetime] = mapped_column(UTCDateTime)
    ordered_at: Mapped[datetime] = mapped_column(UTCDateTime)
    picked_up_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    price_sat: Mapped[int] = mapped_column(Integer)

    sender: Mapped[Party] = relationship(foreign_keys=[sender_id])
    recipient: Mapped[Party] = relationship(foreign_keys=[recipient_id])

    __table_args__ = (
        Index("ix_parcels_ordered_at", "ordered_at"),
        Index("ix_parcels_status_deliver_until", "status", "deliver_until"),
        UniqueConstraint("idempotency_key", name="uq_parcels_idempotency_key"),
    )

    @property
    def subject(self) -> str:
        """The journal subject of this parcel."""
        return f"parcel:{self.id}"
