"""Drivers' registered phones, their PINs, and the texts they sent.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-05
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "driver_phones",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("driver_id", sa.Integer(), nullable=False),
        sa.Column("phone", sa.String(length=16), nullable=False),
        sa.Column("pin_hash", sa.String(length=200), nullable=False),
        sa.Column("registered_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("registered_by", sa.String(length=64), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_by", sa.String(length=64), nullable=True),
        sa.Column("failed_pins", sa.Integer(), nullable=False),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["driver_id"], ["drivers.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_driver_phones_phone", "driver_phones", ["phone"])
    op.create_table(
        "driver_texts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sender", sa.String(length=20), nullable=False),
        sa.Column("phone_id", sa.Integer(), nullable=True),
        sa.Column("driver_id", sa.Integer(), nullable=True),
        sa.Column("command", sa.String(length=16), nullable=True),
        sa.Column("code", sa.String(length=16), nullable=True),
        sa.Column(
            "outcome",
            sa.Enum(
                "applied",
                "notice_failed",
                "help_on_call",
                "help_for_dispatch",
                "command_list",
                "refused",
                "not_understood",
                "wrong_pin",
                "locked",
                "unknown_phone",
                name="textoutcome",
                native_enum=False,
                length=24,
            ),
            nullable=False,
        ),
        sa.Column("text", sa.String(length=500), nullable=False),
        sa.Column("reply", sa.String(length=500), nullable=False),
        sa.ForeignKeyConstraint(["driver_id"], ["drivers.id"]),
        sa.ForeignKeyConstraint(["phone_id"], ["driver_phones.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_driver_texts_received_at", "driver_texts", ["received_at"])


def downgrade() -> None:
    op.drop_index("ix_driver_texts_received_at", table_name="driver_texts")
    op.drop_table("driver_texts")
    op.drop_index("ix_driver_phones_phone", table_name="driver_phones")
    op.drop_table("driver_phones")
