"""The activity log names the second factor an event concerns: `activity.factor_id`.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Nullable, no default: every event before this concerned no factor.
    with op.batch_alter_table("activity") as batch:
        batch.add_column(sa.Column("factor_id", sa.String(36)))


def downgrade() -> None:
    with op.batch_alter_table("activity") as batch:
        batch.drop_column("factor_id")
