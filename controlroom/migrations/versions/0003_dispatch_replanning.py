"""Re-planning: fleet settings, declared degradations, unserved parcels per plan.

Plans remember the version they were made from, the engine that found them
and their length; stops can be transfers (a place of their own) and late.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "fleet_settings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("minutes_per_degree_lat", sa.Double(), nullable=False),
        sa.Column("minutes_per_degree_lon", sa.Double(), nullable=False),
        sa.Column("shift_start_minute", sa.Integer(), nullable=False),
        sa.Column("shift_end_minute", sa.Integer(), nullable=False),
        sa.CheckConstraint("id = 1", name="ck_fleet_settings_single_row"),
        sa.CheckConstraint(
            "shift_start_minute >= 0 AND shift_end_minute <= 1440 "
            "AND shift_start_minute < shift_end_minute",
            name="ck_fleet_settings_shift",
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "degradations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "vehicle_lost",
                "area_closed",
                "road_closed",
                "depot_lost",
                "scheduler_down",
                "driver_app_down",
                name="degradationkind",
                native_enum=False,
                length=24,
            ),
            nullable=False,
        ),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.Column("summary", sa.String(length=200), nullable=False),
        sa.Column("declared_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("declared_by", sa.String(length=64), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ended_by", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "plan_unserved",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("plan_id", sa.Integer(), nullable=False),
        sa.Column("parcel_id", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(length=40), nullable=False),
        sa.Column("explanation", sa.String(length=300), nullable=False),
        sa.ForeignKeyConstraint(["parcel_id"], ["parcels.id"]),
        sa.ForeignKeyConstraint(["plan_id"], ["plans.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("plan_id", "parcel_id"),
    )
    with op.batch_alter_table("plans", schema=None) as batch_op:
        batch_op.add_column(sa.Column("base_version", sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column("engine", sa.String(length=40), nullable=False, server_default="")
        )
        batch_op.add_column(sa.Column("distance_km", sa.Double(), nullable=True))
    with op.batch_alter_table("stops", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("late", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.add_column(sa.Column("lat", sa.Double(), nullable=True))
        batch_op.add_column(sa.Column("lon", sa.Double(), nullable=True))
        batch_op.alter_column(
            "kind",
            existing_type=sa.Enum(
                "pickup", "delivery", name="stopkind", native_enum=False, length=24
            ),
            type_=sa.Enum(
                "pickup",
                "delivery",
                "transfer",
                name="stopkind",
                native_enum=False,
                length=24,
            ),
            existing_nullable=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("stops", schema=None) as batch_op:
        batch_op.drop_column("lon")
        batch_op.drop_column("lat")
        batch_op.drop_column("late")
    with op.batch_alter_table("plans", schema=None) as batch_op:
        batch_op.drop_column("distance_km")
        batch_op.drop_column("engine")
        batch_op.drop_column("base_version")
    op.drop_table("plan_unserved")
    op.drop_table("degradations")
    op.drop_table("fleet_settings")
