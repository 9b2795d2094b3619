"""Payment tracking: blocks seen per height, per-node health, the tracker's progress
and fail-overs.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "tracked_blocks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.Column("block_hash", sa.String(length=64), nullable=False),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("node_key", sa.String(length=48), nullable=False),
        sa.Column("processed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("block_hash"),
    )
    op.create_index(
        "ix_tracked_blocks_height_active",
        "tracked_blocks",
        ["height", "active"],
        unique=False,
    )
    op.create_table(
        "payment_node_checks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("node_key", sa.String(length=48), nullable=False),
        sa.Column("region", sa.String(length=32), nullable=False),
        sa.Column("provider", sa.String(length=32), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("height", sa.Integer(), nullable=True),
        sa.Column("block_hash", sa.String(length=64), nullable=True),
        sa.Column("headers", sa.Integer(), nullable=True),
        sa.Column("response_ms", sa.Integer(), nullable=True),
        sa.Column("trusted", sa.Boolean(), nullable=False),
        sa.Column("reason", sa.String(length=240), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_payment_node_checks_at", "payment_node_checks", ["at"], unique=False
    )
    op.create_index(
        "ix_payment_node_checks_node_at",
        "payment_node_checks",
        ["node_key", "at"],
        unique=False,
    )
    op.create_table(
        "payment_tracker_progress",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.Column("block_hash", sa.String(length=64), nullable=False),
        sa.Column("node_key", sa.String(length=48), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("id = 1", name="ck_payment_tracker_progress_single_row"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "payment_tracker_failovers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("from_node", sa.String(length=48), nullable=True),
        sa.Column("to_node", sa.String(length=48), nullable=True),
        sa.Column("reason", sa.String(length=240), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_payment_tracker_failovers_at",
        "payment_tracker_failovers",
        ["at"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index(
        "ix_payment_tracker_failovers_at", table_name="payment_tracker_failovers"
    )
    op.drop_table("payment_tracker_failovers")
    op.drop_table("payment_tracker_progress")
    op.drop_index("ix_payment_node_checks_node_at", table_name="payment_node_checks")
    op.drop_index("ix_payment_node_checks_at", table_name="payment_node_checks")
    op.drop_table("payment_node_checks")
    op.drop_index("ix_tracked_blocks_height_active", table_name="tracked_blocks")
    op.drop_table("tracked_blocks")
