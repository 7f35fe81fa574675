"""samples and events

Revision ID: r0001
Revises:
Create Date: 2026-11-22

"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "r0001"
down_revision: str | Sequence[str] | None = None
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
"""The recorded metrics when this revision was written (a migration never follows later model changes)."""


def upgrade() -> None:
    """Create samples and events."""
    op.create_table(
        "samples",
        sa.Column("id", ID_TYPE, primary_key=True, autoincrement=True),
        sa.Column("controller_id", sa.String(64), nullable=False),
        sa.Column("timestamp_utc", sa.DateTime(timezone=True), nullable=False),
        sa.Column("mode", sa.String(16), nullable=False),
        *(sa.Column(key, sa.Float(), nullable=True) for key in METRIC_COLUMNS),
    )
    op.create_index("ix_samples_controller_time", "samples", ["controller_id", "timestamp_utc"])
    op.create_table(
        "events",
        sa.Column("id", ID_TYPE, primary_key=True, autoincrement=True),
        sa.Column("controller_id", sa.String(64), nullable=False),
        sa.Column("timestamp_utc", sa.DateTime(timezone=True), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("severity", sa.String(16), nullable=False),
        sa.Column("alert_kind", sa.String(32), nullable=True),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("values", sa.JSON(), nullable=False),
    )
    op.create_index("ix_events_controller_time", "events", ["controller_id", "timestamp_utc"])


def downgrade() -> None:
    """Drop samples and events."""
    op.drop_index("ix_events_controller_time", table_name="events")
    op.drop_table("events")
    op.drop_index("ix_samples_controller_time", table_name="samples")
    op.drop_table("samples")
