"""Invoice and payment tables; every amount is an integer of satoshis."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import (
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from controlroom.db import Base, UTCDateTime
from controlroom.orders.models import Parcel, enum_column
from controlroom.payments.lifecycle import (
    InvoiceException,
    InvoiceStatus,
    PaymentState,
)
from controlroom.payments.policy import OrderClass

__all__ = [
    "Invoice",
    "InvoiceException",
    "InvoiceStatus",
    "MarkRequest",
    "MarkRequestStatus",
    "OrderClass",
    "Payment",
    "PaymentMethod",
    "PaymentSpend",
    "PaymentState",
]


class PaymentMethod(StrEnum):
    ONCHAIN = "onchain"
    LIGHTNING = "lightning"


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
    order_class: Mapped[OrderClass] = mapped_column(
        enum_column(OrderClass), default=OrderClass.STANDARD
    )
    tolerance_bp: Mapped[int] = mapped_column(Integer, default=0)
    address: Mapped[str | None] = mapped_column(String(100))
    bolt11: Mapped[str | None] = mapped_column(String(2000))
    payment_hash: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # Payments to the address are still looked for until then (BTCPay's
    # monitoring expiration); ``monitoring_ended_at`` says the tracker let go.
    monitoring_until: Mapped[datetime] = mapped_column(UTCDateTime)
    monitoring_ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    settled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    needs_operator: Mapped[bool] = mapped_column(Boolean, default=False)

    parcel: Mapped[Parcel] = relationship()
    payments: Mapped[list[Payment]] = relationship(
        back_populates="invoice", order_by="Payment.id"
    )

    __table_args__ = (
        Index("ix_invoices_parcel", "parcel_id"),
        Index("ix_invoices_status", "status"),
        Index("ix_invoices_needs_operator", "needs_operator"),
        # Not unique: a static fallback wallet's single reused address is
        # every order's address (controlroom.payments.wallet_watch, 0006).
        Index("ix_invoices_address", "address"),
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
    signals_rbf: Mapped[bool] = mapped_column(Boolean, default=False)
    block_height: Mapped[int | None] = mapped_column(Integer)
    block_hash: Mapped[str | None] = mapped_column(String(64))
    replaced_by: Mapped[str | None] = mapped_column(String(64))
    double_spent_by: Mapped[str | None] = mapped_column(String(64))

    invoice: Mapped[Invoice] = relationship(back_populates="payments")
    spends: Mapped[list[PaymentSpend]] = relationship(
        back_populates="payment", cascade="all, delete-orphan"
    )

    __table_args__ = (
        Index("ix_payments_invoice", "invoice_id"),
        Index("ix_payments_block_hash", "block_hash"),
        UniqueConstraint("txid", "vout", name="uq_payments_outpoint"),
    )

    @property
    def outpoint(self) -> str | None:
        """``txid:vout`` of an on-chain payment, None for Lightning."""
        if self.txid is None or self.vout is None:
            return None
        return f"{self.txid}:{self.vout}"


class PaymentSpend(Base):
    """One outpoint a payment's transaction spent: how conflicts are found.

    Two transactions spending the same outpoint cannot both be mined, so a
    newcomer that shares one with a payment replaces it (RBF) or double
    spends it.
    """

    __tablename__ = "payment_spends"

    payment_id: Mapped[int] = mapped_column(ForeignKey("payments.id"), primary_key=True)
    outpoint: Mapped[str] = mapped_column(String(80), primary_key=True)

    payment: Mapped[Payment] = relationship(back_populates="spends")

    __table_args__ = (Index("ix_payment_spends_outpoint", "outpoint"),)


class MarkRequestStatus(StrEnum):
    PROPOSED = "proposed"
    APPROVED = "approved"
    REJECTED = "rejected"


class MarkRequest(Base):
    """One person's proposal to settle or invalidate an invoice by hand.

    Marking moves trust (a parcel ships, or a customer is told no), so a
    second, different person approves it before ``mark_invoice`` runs.
    """

    __tablename__ = "invoice_mark_requests"

    id: Mapped[int] = mapped_column(primary_key=True)
    invoice_id: Mapped[int] = mapped_column(ForeignKey("invoices.id"))
    target: Mapped[InvoiceStatus] = mapped_column(enum_column(InvoiceStatus))
    reason: Mapped[str] = mapped_column(String(300))
    status: Mapped[MarkRequestStatus] = mapped_column(
        enum_column(MarkRequestStatus), default=MarkRequestStatus.PROPOSED
    )
    proposed_by: Mapped[str] = mapped_column(String(64))
    proposed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    decided_by: Mapped[str | None] = mapped_column(String(64))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    invoice: Mapped[Invoice] = relationship()

    __table_args__ = (
        Index("ix_invoice_mark_requests_invoice", "invoice_id", "status"),
    )
