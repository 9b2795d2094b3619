"""Lightning: per-customer limits and the node's invoices.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "lightning_invoices",
        sa.Column("invoice_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("node_key", sa.String(length=48), nullable=False),
        sa.Column("add_index", sa.BigInteger(), nullable=False),
        sa.Column("payee_node_id", sa.String(length=66), nullable=False),
        sa.Column("expiry_clamped", sa.Boolean(), nullable=False),
        sa.Column(
            "node_state",
            sa.Enum(
                "OPEN",
                "SETTLED",
                "CANCELED",
                "ACCEPTED",
                name="lightninginvoicestate",
                native_enum=False,
                length=24,
            ),
            nullable=False,
        ),
        sa.Column("node_state_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["invoice_id"], ["invoices.id"]),
        sa.PrimaryKeyConstraint("invoice_id"),
    )
    op.create_index(
        "ix_lightning_invoices_node", "lightning_invoices", ["node_key"], unique=False
    )
    op.create_table(
        "lightning_limit_changes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("party_id", sa.Integer(), nullable=False),
        sa.Column("limit_sat", sa.BigInteger(), nullable=False),
        sa.Column("previous_limit_sat", sa.BigInteger(), nullable=False),
        sa.Column("reason", sa.String(length=300), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "proposed",
                "approved",
                "rejected",
                name="limitchangestatus",
                native_enum=False,
                length=24,
            ),
            nullable=False,
        ),
        sa.Column("proposed_by", sa.String(length=64), nullable=False),
        sa.Column("proposed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_by", sa.String(length=64), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["party_id"], ["parties.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_lightning_limit_changes_party",
        "lightning_limit_changes",
        ["party_id", "status"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index(
        "ix_lightning_limit_changes_party", table_name="lightning_limit_changes"
    )
    op.drop_table("lightning_limit_changes")
    op.drop_index("ix_lightning_invoices_node", table_name="lightning_invoices")
    op.drop_table("lightning_invoices")
