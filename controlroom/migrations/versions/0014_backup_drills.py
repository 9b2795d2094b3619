"""Restore drills: when, how long, from which snapshot, what was lost.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-05
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SEQ = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "backup_drills",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("seconds", sa.Float(), nullable=False),
        sa.Column("location", sa.String(length=300), nullable=False),
        sa.Column("target", sa.String(length=300), nullable=False),
        sa.Column("snapshot_key", sa.String(length=200), nullable=False),
        sa.Column("events_appended", SEQ, nullable=False),
        sa.Column("events_reapplied", SEQ, nullable=False),
        sa.Column("head_primary_seq", SEQ, nullable=False),
        sa.Column("head_shipped_seq", SEQ, nullable=False),
        sa.Column("head_restored_seq", SEQ, nullable=False),
        sa.Column("head_restored_hash", sa.String(length=64), nullable=False),
        sa.Column("lost_events", SEQ, nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("problem", sa.String(length=500), nullable=False),
        sa.Column("started_by", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_backup_drills_started_at", "backup_drills", ["started_at"])


def downgrade() -> None:
    op.drop_index("ix_backup_drills_started_at", table_name="backup_drills")
    op.drop_table("backup_drills")
