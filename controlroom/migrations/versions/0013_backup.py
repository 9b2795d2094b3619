"""The streaming backup: shipped position per store, its segments, verifications.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-05
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SEQ = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "backup_positions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("location", sa.String(length=300), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("shipped_seq", SEQ, nullable=False),
        sa.Column("shipped_hash", sa.String(length=64), nullable=False),
        sa.Column("manifest_digest", sa.String(length=64), nullable=False),
        sa.Column("shipped_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("failing_since", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.String(length=500), nullable=False),
        sa.Column("lag_events", SEQ, nullable=False),
        sa.Column("lag_seconds", sa.Float(), nullable=False),
        sa.Column("retention_checked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("retention_ok", sa.Boolean(), nullable=True),
        sa.Column("retention_detail", sa.String(length=500), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("location"),
    )
    op.create_table(
        "backup_shipments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("location", sa.String(length=300), nullable=False),
        sa.Column("first_seq", SEQ, nullable=False),
        sa.Column("last_seq", SEQ, nullable=False),
        sa.Column("head_hash", sa.String(length=64), nullable=False),
        sa.Column("manifest_digest", sa.String(length=64), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("shipped_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("location", "first_seq", name="uq_backup_shipments_first"),
    )
    op.create_table(
        "backup_verifications",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("location", sa.String(length=300), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("seconds", sa.Float(), nullable=False),
        sa.Column("ok", sa.Boolean(), nullable=False),
        sa.Column("segments", sa.Integer(), nullable=False),
        sa.Column("events", SEQ, nullable=False),
        sa.Column("head_hash", sa.String(length=64), nullable=False),
        sa.Column("problem", sa.String(length=500), nullable=False),
        sa.Column("problem_key", sa.String(length=300), nullable=False),
        sa.Column("problem_seq", SEQ, nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )


def downgrade() -> None:
    op.drop_table("backup_verifications")
    op.drop_table("backup_shipments")
    op.drop_table("backup_positions")
