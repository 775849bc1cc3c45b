"""Session client details and throttling counters.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("sessions") as batch:
        batch.add_column(sa.Column("user_agent", sa.String(256)))
        batch.add_column(sa.Column("client_ip", sa.String(64)))
    op.create_table(
        "throttles",
        sa.Column("key", sa.String(80), primary_key=True),
        sa.Column("count", sa.Integer, nullable=False),
        sa.Column("resets_at", sa.BigInteger, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("throttles")
    with op.batch_alter_table("sessions") as batch:
        batch.drop_column("client_ip")
        batch.drop_column("user_agent")
