"""the battery estimator's state of charge, energy and its uncertainty

Revision ID: r0003
Revises: r0002
Create Date: 2026-11-30

"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "r0003"
down_revision: str | Sequence[str] | None = "r0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NEW_COLUMNS = ("soc_estimate_pct", "energy_estimate_wh", "energy_uncertainty_wh")
SUFFIXES = ("min", "mean", "max")


def upgrade() -> None:
    """Add the columns to samples and samples_1m; existing rows read None for them."""
    for key in NEW_COLUMNS:
        op.add_column("samples", sa.Column(key, sa.Float(), nullable=True))
        for suffix in SUFFIXES:
            op.add_column("samples_1m", sa.Column(f"{key}_{suffix}", sa.Float(), nullable=True))


def downgrade() -> None:
    """Drop the columns again."""
    for key in NEW_COLUMNS:
        for suffix in SUFFIXES:
            op.drop_column("samples_1m", f"{key}_{suffix}")
        op.drop_column("samples", key)
