"""Static-wallet fallback tables: wallets, issued addresses, what was seen.

Only public material is kept: an account public key, a descriptor or an
address. Amounts are integer satoshis.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from controlroom.db import Base, UTCDateTime
from controlroom.orders.models import enum_column
from controlroom.payments.addresses import Network
from controlroom.payments.models import Invoice
from controlroom.payments.wallet_watch.matching import MatchRule


class WalletKind(StrEnum):
    """How a fallback wallet gives orders an address."""

    HD = "hd"  # a fresh derived address per order
    SINGLE_ADDRESS = "single_address"  # one address, reused by every order


class ObservationSource(StrEnum):
    MANUAL = "manual"
    CSV = "csv"


class MatchStatus(StrEnum):
    """A proposal's way to a verified payment: two people, in turn."""

    PROPOSED = "proposed"
    CONFIRMED = "confirmed"  # by a first person
    VERIFIED = "verified"  # by a second, different person
    REJECTED = "rejected"


class FallbackWallet(Base):
    """A watch-only wallet orders are paid to while payment tracking is down."""

    __tablename__ = "fallback_wallets"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(80), unique=True)
    kind: Mapped[WalletKind] = mapped_column(enum_column(WalletKind))
    network: Mapped[Network] = mapped_column(enum_column(Network))
    # The account public key or descriptor (HD), or the address (single).
    public_key: Mapped[str] = mapped_column(String(400))
    first_address: Mapped[str] = mapped_column(String(100))
    active: Mapped[bool] = mapped_column(default=True)
    added_by: Mapped[str] = mapped_column(String(64))
    added_at: Mapped[datetime] = mapped_column(UTCDateTime)

    @property
    def subject(self) -> str:
        """The journal subject of this wallet."""
        return f"fallback_wallet:{self.id}"


class IssuedAddress(Base):
    """The address a fallback wallet gave one order's invoice."""

    __tablename__ = "fallback_addresses"

    id: Mapped[int] = mapped_column(primary_key=True)
    wallet_id: Mapped[int] = mapped_column(ForeignKey("fallback_wallets.id"))
    # None for a single reused address; BIP32 receive index for HD wallets.
    derivation_index: Mapped[int | None] = mapped_column(Integer)
    address: Mapped[str] = mapped_column(String(100))
    invoice_id: Mapped[int] = mapped_column(ForeignKey("invoices.id"), unique=True)
    parcel_id: Mapped[int] = mapped_column(ForeignKey("parcels.id"))
    issued_by: Mapped[str] = mapped_column(String(64))
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime)

    wallet: Mapped[FallbackWallet] = relationship()
    invoice: Mapped[Invoice] = relationship()

    __table_args__ = (
        UniqueConstraint(
            "wallet_id", "derivation_index", name="uq_fallback_addresses_index"
        ),
        Index("ix_fallback_addresses_address", "address"),
    )


class Observation(Base):
    """A payment someone saw arrive, typed in or imported from a file."""

    __tablename__ = "wallet_observations"

    id: Mapped[int] = mapped_column(primary_key=True)
    address: Mapped[str] = mapped_column(String(100))
    amount_sat: Mapped[int] = mapped_column(BigInteger)
    txid: Mapped[str | None] = mapped_column(String(64))
    observed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    source: Mapped[ObservationSource] = mapped_column(enum_column(ObservationSource))
    file_name: Mapped[str | None] = mapped_column(String(200))
    file_row: Mapped[int | None] = mapped_column(Integer)
    note: Mapped[str] = mapped_column(String(240), default="")
    recorded_by: Mapped[str] = mapped_column(String(64))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (
        # A transaction paying the same address twice is seen as one payment
        # here; wallets and explorers list it as one line, too.
        UniqueConstraint("txid", "address", name="uq_wallet_observations_txid"),
        CheckConstraint("amount_sat > 0", name="ck_wallet_observations_amount"),
        Index("ix_wallet_observations_address", "address"),
    )

    @property
    def subject(self) -> str:
        """The journal subject of this observation."""
        return f"wallet_observation:{self.id}"


class MatchProposal(Base):
    """An observation proposed for an order, and the two people who agreed."""

    __tablename__ = "wallet_matches"

    id: Mapped[int] = mapped_column(primary_key=True)
    observation_id: Mapped[int] = mapped_column(ForeignKey("wallet_observations.id"))
    invoice_id: Mapped[int] = mapped_column(ForeignKey("invoices.id"))
    rule: Mapped[MatchRule] = mapped_column(enum_column(MatchRule))
    confidence: Mapped[str] = mapped_column(String(400))
    status: Mapped[MatchStatus] = mapped_column(
        enum_column(MatchStatus), default=MatchStatus.PROPOSED
    )
    proposed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    proposed_by: Mapped[str] = mapped_column(String(64))
    confirmed_by: Mapped[str | None] = mapped_column(String(64))
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    verified_by: Mapped[str | None] = mapped_column(String(64))
    verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    rejected_by: Mapped[str | None] = mapped_column(String(64))
    rejected_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reject_reason: Mapped[str | None] = mapped_column(String(240))

    observation: Mapped[Observation] = relationship()
    invoice: Mapped[Invoice] = relationship()

    __table_args__ = (
        UniqueConstraint("observation_id", "invoice_id", name="uq_wallet_matches_pair"),
        # The database keeps the two-person rule even if a service forgot.
        CheckConstraint(
            "verified_by IS NULL OR "
            "(confirmed_by IS NOT NULL AND verified_by <> confirmed_by)",
            name="ck_wallet_matches_two_people",
        ),
        Index("ix_wallet_matches_status", "status"),
    )
