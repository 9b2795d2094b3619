"""Lightning tables: which node issued an invoice, and per-customer limits."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from controlroom.db import Base, UTCDateTime
from controlroom.orders.models import Party, enum_column
from controlroom.payments.lightning.node import LightningInvoiceState
from controlroom.payments.models import Invoice


class LimitChangeStatus(StrEnum):
    PROPOSED = "proposed"
    APPROVED = "approved"
    REJECTED = "rejected"


class LightningInvoice(Base):
    """The Lightning side of an invoice: the node that holds it and its state.

    An invoice can only be looked up on the node that issued it, so the
    node's key is kept; ``node_state`` is what that node last said.
    """

    __tablename__ = "lightning_invoices"

    invoice_id: Mapped[int] = mapped_column(
        ForeignKey("invoices.id"), primary_key=True, autoincrement=False
    )
    node_key: Mapped[str] = mapped_column(String(48))
    add_index: Mapped[int] = mapped_column(BigInteger)
    payee_node_id: Mapped[str] = mapped_column(String(66))
    expiry_clamped: Mapped[bool] = mapped_column(Boolean, default=False)
    node_state: Mapped[LightningInvoiceState] = mapped_column(
        enum_column(LightningInvoiceState)
    )
    node_state_at: Mapped[datetime] = mapped_column(UTCDateTime)

    invoice: Mapped[Invoice] = relationship()

    __table_args__ = (Index("ix_lightning_invoices_node", "node_key"),)


class LightningLimitChange(Base):
    """A proposed new Lightning limit for one customer, and who decided it.

    A limit moves trust, so one person proposes and another approves; the
    customer's limit is the newest approved change (or the default).
    """

    __tablename__ = "lightning_limit_changes"

    id: Mapped[int] = mapped_column(primary_key=True)
    party_id: Mapped[int] = mapped_column(ForeignKey("parties.id"))
    limit_sat: Mapped[int] = mapped_column(BigInteger)
    previous_limit_sat: Mapped[int] = mapped_column(BigInteger)
    reason: Mapped[str] = mapped_column(String(300))
    status: Mapped[LimitChangeStatus] = mapped_column(
        enum_column(LimitChangeStatus), default=LimitChangeStatus.PROPOSED
    )
    proposed_by: Mapped[str] = mapped_column(String(64))
    proposed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    decided_by: Mapped[str | None] = mapped_column(String(64))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    customer: Mapped[Party] = relationship()

    __table_args__ = (Index("ix_lightning_limit_changes_party", "party_id", "status"),)

    @property
    def subject(self) -> str:
        """The journal subject: the customer whose limit changes."""
        return f"party:{self.party_id}"
