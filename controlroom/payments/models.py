"""Invoice and payment tables; every amount is an integer of satoshis."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from controlroom.db import Base, UTCDateTime
from controlroom.orders.models import Parcel, enum_column


class PaymentMethod(StrEnum):
    ONCHAIN = "onchain"
    LIGHTNING = "lightning"


class InvoiceStatus(StrEnum):
    """BTCPay Server's invoice states, which merchants already know."""

    NEW = "new"
    PROCESSING = "processing"
    SETTLED = "settled"
    EXPIRED = "expired"
    INVALID = "invalid"


class InvoiceException(StrEnum):
    PAID_PARTIAL = "paid_partial"
    PAID_OVER = "paid_over"
    PAID_LATE = "paid_late"
    MARKED = "marked"


class PaymentState(StrEnum):
    SEEN = "seen"
    CONFIRMED = "confirmed"
    REPLACED = "replaced"
    DOUBLE_SPENT = "double_spent"


class Invoice(Base):
    """What a parcel's customer was asked to pay, and how far that got."""

    __tablename__ = "invoices"

    id: Mapped[int] = mapped_column(primary_key=True)
    parcel_id: Mapped[int] = mapped_column(ForeignKey("parcels.id"))
    method: Mapped[PaymentMethod] = mapped_column(enum_column(PaymentMethod))
    status: Mapped[InvoiceStatus] = mapped_column(
        enum_column(InvoiceStatus), default=InvoiceStatus.NEW
    )
    exception: Mapped[InvoiceException | None] = mapped_column(
        enum_column(InvoiceException)
    )
    amount_sat: Mapped[int] = mapped_column(BigInteger)
    paid_sat: Mapped[int] = mapped_column(BigInteger, default=0)
    required_confirmations: Mapped[int] = mapped_column(Integer, default=1)
    address: Mapped[str | None] = mapped_column(String(100))
    bolt11: Mapped[str | None] = mapped_column(String(2000))
    payment_hash: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    settled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    parcel: Mapped[Parcel] = relationship()
    payments: Mapped[list[Payment]] = relationship(back_populates="invoice")

    __table_args__ = (
        Index("ix_invoices_parcel", "parcel_id"),
        Index("ix_invoices_status", "status"),
        UniqueConstraint("address", name="uq_invoices_address"),
    )

    @property
    def subject(self) -> str:
        """The journal subject of this invoice."""
        return f"invoice:{self.id}"


class Payment(Base):
    """One transaction output or Lightning payment seen for an invoice."""

    __tablename__ = "payments"

    id: Mapped[int] = mapped_column(primary_key=True)
    invoice_id: Mapped[int] = mapped_column(ForeignKey("invoices.id"))
    state: Mapped[PaymentState] = mapped_column(
        enum_column(PaymentState), default=PaymentState.SEEN
    )
    txid: Mapped[str | None] = mapped_column(String(64))
    vout: Mapped[int | None] = mapped_column(Integer)
    payment_hash: Mapped[str | None] = mapped_column(String(64))
    amount_sat: Mapped[int] = mapped_column(BigInteger)
    confirmations: Mapped[int] = mapped_column(Integer, default=0)
    seen_at: Mapped[datetime] = mapped_column(UTCDateTime)
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    invoice: Mapped[Invoice] = relationship(back_populates="payments")

    __table_args__ = (
        Index("ix_payments_invoice", "invoice_id"),
        UniqueConstraint("txid", "vout", name="uq_payments_outpoint"),
    )
