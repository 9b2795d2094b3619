"""Static-wallet fallback: watch-only wallets, issued addresses,
observations, matches, verifications.

An invoice's address is no longer unique: a fallback wallet's single reused
address is the address of every order paid to it.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _enum(name: str, *values: str) -> sa.Enum:
    return sa.Enum(*values, name=name, native_enum=False, length=24)


def upgrade() -> None:
    with op.batch_alter_table("invoices", schema=None) as batch_op:
        batch_op.drop_constraint("uq_invoices_address", type_="unique")
        batch_op.create_index("ix_invoices_address", ["address"], unique=False)
    op.create_table(
        "fallback_wallets",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column("kind", _enum("walletkind", "hd", "single_address"), nullable=False),
        sa.Column(
            "network",
            _enum("network", "mainnet", "testnet", "signet", "regtest"),
            nullable=False,
        ),
        sa.Column("public_key", sa.String(length=400), nullable=False),
        sa.Column("first_address", sa.String(length=100), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("added_by", sa.String(length=64), nullable=False),
        sa.Column("added_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
    )
    op.create_table(
        "fallback_addresses",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("wallet_id", sa.Integer(), nullable=False),
        sa.Column("derivation_index", sa.Integer(), nullable=True),
        sa.Column("address", sa.String(length=100), nullable=False),
        sa.Column("invoice_id", sa.Integer(), nullable=False),
        sa.Column("parcel_id", sa.Integer(), nullable=False),
        sa.Column("issued_by", sa.String(length=64), nullable=False),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["invoice_id"], ["invoices.id"]),
        sa.ForeignKeyConstraint(["parcel_id"], ["parcels.id"]),
        sa.ForeignKeyConstraint(["wallet_id"], ["fallback_wallets.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("invoice_id"),
        sa.UniqueConstraint(
            "wallet_id", "derivation_index", name="uq_fallback_addresses_index"
        ),
    )
    op.create_index("ix_fallback_addresses_address", "fallback_addresses", ["address"])
    op.create_table(
        "wallet_observations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("address", sa.String(length=100), nullable=False),
        sa.Column("amount_sat", sa.BigInteger(), nullable=False),
        sa.Column("txid", sa.String(length=64), nullable=True),
        sa.Column("observed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "source", _enum("observationsource", "manual", "csv"), nullable=False
        ),
        sa.Column("file_name", sa.String(length=200), nullable=True),
        sa.Column("file_row", sa.Integer(), nullable=True),
        sa.Column("note", sa.String(length=240), nullable=False),
        sa.Column("recorded_by", sa.String(length=64), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("amount_sat > 0", name="ck_wallet_observations_amount"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("txid", "address", name="uq_wallet_observations_txid"),
    )
    op.create_index(
        "ix_wallet_observations_address", "wallet_observations", ["address"]
    )
    op.create_table(
        "wallet_matches",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("observation_id", sa.Integer(), nullable=False),
        sa.Column("invoice_id", sa.Integer(), nullable=False),
        sa.Column(
            "rule",
            _enum("matchrule", "exact_address", "unique_amount", "by_hand"),
            nullable=False,
        ),
        sa.Column("confidence", sa.String(length=400), nullable=False),
        sa.Column(
            "status",
            _enum("matchstatus", "proposed", "confirmed", "verified", "rejected"),
            nullable=False,
        ),
        sa.Column("proposed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("proposed_by", sa.String(length=64), nullable=False),
        sa.Column("confirmed_by", sa.String(length=64), nullable=True),
        sa.Column("confirmed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("verified_by", sa.String(length=64), nullable=True),
        sa.Column("verified_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("rejected_by", sa.String(length=64), nullable=True),
        sa.Column("rejected_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reject_reason", sa.String(length=240), nullable=True),
        sa.CheckConstraint(
            "verified_by IS NULL OR "
            "(confirmed_by IS NOT NULL AND verified_by <> confirmed_by)",
            name="ck_wallet_matches_two_people",
        ),
        sa.ForeignKeyConstraint(["invoice_id"], ["invoices.id"]),
        sa.ForeignKeyConstraint(["observation_id"], ["wallet_observations.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint(
            "observation_id", "invoice_id", name="uq_wallet_matches_pair"
        ),
    )
    op.create_index("ix_wallet_matches_status", "wallet_matches", ["status"])


def downgrade() -> None:
    op.drop_index("ix_wallet_matches_status", table_name="wallet_matches")
    op.drop_table("wallet_matches")
    op.drop_index("ix_wallet_observations_address", table_name="wallet_observations")
    op.drop_table("wallet_observations")
    op.drop_index("ix_fallback_addresses_address", table_name="fallback_addresses")
    op.drop_table("fallback_addresses")
    op.drop_table("fallback_wallets")
    with op.batch_alter_table("invoices", schema=None) as batch_op:
        batch_op.drop_index("ix_invoices_address")
        batch_op.create_unique_constraint("uq_invoices_address", ["address"])
