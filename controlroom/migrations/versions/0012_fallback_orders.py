"""Orders' idempotency keys and channels, and the fallback spool's merge log.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-05
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Orders placed before keys existed get one derived from their package
    # code, which is unique already; new orders bring their own.
    with op.batch_alter_table("parcels", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("idempotency_key", sa.String(length=64), nullable=True)
        )
    op.execute("UPDATE parcels SET idempotency_key = 'legacy-' || code")
    with op.batch_alter_table("parcels", schema=None) as batch_op:
        batch_op.alter_column(
            "idempotency_key", existing_type=sa.String(length=64), nullable=False
        )
        batch_op.create_unique_constraint(
            "uq_parcels_idempotency_key", ["idempotency_key"]
        )

    op.create_table(
        "fallback_merges",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("spool_id", sa.String(length=64), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_by", sa.String(length=64), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "outcome",
            sa.Enum(
                "running",
                "complete",
                "stopped_at_problem",
                name="mergeoutcome",
                native_enum=False,
                length=24,
            ),
            nullable=False,
        ),
        sa.Column("through_seq", sa.Integer(), nullable=False),
        sa.Column("through_hash", sa.String(length=64), nullable=False),
        sa.Column("merged", sa.Integer(), nullable=False),
        sa.Column("already_present", sa.Integer(), nullable=False),
        sa.Column("problem", sa.String(length=400), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_fallback_merges_started_at", "fallback_merges", ["started_at"])


def downgrade() -> None:
    op.drop_index("ix_fallback_merges_started_at", table_name="fallback_merges")
    op.drop_table("fallback_merges")
    with op.batch_alter_table("parcels", schema=None) as batch_op:
        batch_op.drop_constraint("uq_parcels_idempotency_key", type_="unique")
        batch_op.drop_column("idempotency_key")
