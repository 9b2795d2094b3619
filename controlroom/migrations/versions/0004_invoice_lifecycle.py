"""Invoices: expiry and monitoring windows, tolerance, confirmation policy;
payments: spends, RBF, blocks.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PAYMENT_STATES = ("seen", "confirmed", "replaced", "double_spent")
ORDER_CLASSES = ("small", "standard", "large", "high_value")


def upgrade() -> None:
    with op.batch_alter_table("invoices", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "order_class",
                sa.Enum(
                    *ORDER_CLASSES, name="orderclass", native_enum=False, length=24
                ),
                nullable=False,
                server_default="standard",
            )
        )
        batch_op.add_column(
            sa.Column("tolerance_bp", sa.Integer(), nullable=False, server_default="0")
        )
        batch_op.add_column(
            sa.Column("monitoring_until", sa.DateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(
            sa.Column("monitoring_ended_at", sa.DateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(
            sa.Column(
                "needs_operator",
                sa.Boolean(),
                nullable=False,
                server_default=sa.false(),
            )
        )
        batch_op.create_index(
            "ix_invoices_needs_operator", ["needs_operator"], unique=False
        )
    # Invoices issued before the monitoring window existed stop being
    # watched when they expire, as they did then.
    op.execute("UPDATE invoices SET monitoring_until = expires_at")
    with op.batch_alter_table("invoices", schema=None) as batch_op:
        batch_op.alter_column(
            "monitoring_until",
            existing_type=sa.DateTime(timezone=True),
            nullable=False,
        )

    with op.batch_alter_table("payments", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "signals_rbf", sa.Boolean(), nullable=False, server_default=sa.false()
            )
        )
        batch_op.add_column(sa.Column("block_height", sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column("block_hash", sa.String(length=64), nullable=True)
        )
        batch_op.add_column(
            sa.Column("replaced_by", sa.String(length=64), nullable=True)
        )
        batch_op.add_column(
            sa.Column("double_spent_by", sa.String(length=64), nullable=True)
        )
        batch_op.alter_column(
            "state",
            existing_type=sa.Enum(
                *PAYMENT_STATES, name="paymentstate", native_enum=False, length=24
            ),
            type_=sa.Enum(
                *PAYMENT_STATES[:2],
                "reorged",
                *PAYMENT_STATES[2:],
                name="paymentstate",
                native_enum=False,
                length=24,
            ),
            existing_nullable=False,
        )
        batch_op.create_index("ix_payments_block_hash", ["block_hash"], unique=False)

    op.create_table(
        "payment_spends",
        sa.Column("payment_id", sa.Integer(), nullable=False),
        sa.Column("outpoint", sa.String(length=80), nullable=False),
        sa.ForeignKeyConstraint(["payment_id"], ["payments.id"]),
        sa.PrimaryKeyConstraint("payment_id", "outpoint"),
    )
    with op.batch_alter_table("payment_spends", schema=None) as batch_op:
        batch_op.create_index("ix_payment_spends_outpoint", ["outpoint"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("payment_spends", schema=None) as batch_op:
        batch_op.drop_index("ix_payment_spends_outpoint")
    op.drop_table("payment_spends")
    with op.batch_alter_table("payments", schema=None) as batch_op:
        batch_op.drop_index("ix_payments_block_hash")
        batch_op.alter_column(
            "state",
            existing_type=sa.Enum(
                *PAYMENT_STATES[:2],
                "reorged",
                *PAYMENT_STATES[2:],
                name="paymentstate",
                native_enum=False,
                length=24,
            ),
            type_=sa.Enum(
                *PAYMENT_STATES, name="paymentstate", native_enum=False, length=24
            ),
            existing_nullable=False,
        )
        batch_op.drop_column("double_spent_by")
        batch_op.drop_column("replaced_by")
        batch_op.drop_column("block_hash")
        batch_op.drop_column("block_height")
        batch_op.drop_column("signals_rbf")
    with op.batch_alter_table("invoices", schema=None) as batch_op:
        batch_op.drop_index("ix_invoices_needs_operator")
        batch_op.drop_column("needs_operator")
        batch_op.drop_column("monitoring_ended_at")
        batch_op.drop_column("monitoring_until")
        batch_op.drop_column("tolerance_bp")
        batch_op.drop_column("order_class")
