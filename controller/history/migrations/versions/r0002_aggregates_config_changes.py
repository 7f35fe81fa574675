"""one-minute aggregates and configuration changes

Revision ID: r0002
Revises: r0001
Create Date: 2026-11-22

"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "r0002"
down_revision: str | Sequence[str] | None = "r0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID_TYPE = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

METRIC_COLUMNS = (
    "voltage_v",
    "current_a",
    "power_w",
    "soc_pct",
    "consumed_ah",
    "energy_usable_wh",
    "pressure_pa",
    "pressure_raw_pa",
    "pressure_floor_pa",
    "fan_command_pct",
    "fan_rpm",
    "fan_power_w",
    "flow_cfm",
    "clean_air_ft3",
    "runtime_now_s",
    "runtime_plan_s",
    "plan_power_w",
)


def upgrade() -> None:
    """Create samples_1m and config_changes; existing samples and events are untouched."""
    op.create_table(
        "samples_1m",
        sa.Column("id", ID_TYPE, primary_key=True, autoincrement=True),
        sa.Column("controller_id", sa.String(64), nullable=False),
        sa.Column("epoch_min", sa.BigInteger(), nullable=False),
        sa.Column("timestamp_utc", sa.DateTime(timezone=True), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.Column("mode", sa.String(16), nullable=False),
        *(
            sa.Column(f"{key}_{suffix}", sa.Float(), nullable=True)
            for key in METRIC_COLUMNS
            for suffix in ("min", "mean", "max")
        ),
    )
    op.create_index("ix_samples_1m_controller_minute", "samples_1m", ["controller_id", "epoch_min"])
    op.create_table(
        "config_changes",
        sa.Column("id", ID_TYPE, primary_key=True, autoincrement=True),
        sa.Column("controller_id", sa.String(64), nullable=False),
        sa.Column("timestamp_utc", sa.DateTime(timezone=True), nullable=False),
        sa.Column("key", sa.String(64), nullable=False),
        sa.Column("old_value", sa.Text(), nullable=True),
        sa.Column("new_value", sa.Text(), nullable=True),
    )
    op.create_index("ix_config_changes_controller_time", "config_changes", ["controller_id", "timestamp_utc"])


def downgrade() -> None:
    """Drop samples_1m and config_changes."""
    op.drop_index("ix_config_changes_controller_time", table_name="config_changes")
    op.drop_table("config_changes")
    op.drop_index("ix_samples_1m_controller_minute", table_name="samples_1m")
    op.drop_table("samples_1m")
