"""Credential versions, addresses an account logged in from, and indexes for cleanup.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(
            sa.Column("credential_version", sa.Integer, nullable=False, server_default="0")
        )
    with op.batch_alter_table("sessions") as batch:
        batch.add_column(
            sa.Column("credential_version", sa.Integer, nullable=False, server_default="0")
        )
    op.create_index("ix_sessions_expires_at", "sessions", ["expires_at"])
    op.create_index("ix_throttles_resets_at", "throttles", ["resets_at"])
    op.create_table(
        "known_addresses",
        sa.Column(
            "user_id",
            sa.String(36),
            sa.ForeignKey("users.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("address_key", sa.String(80), primary_key=True),
        sa.Column("last_seen", sa.BigInteger, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("known_addresses")
    op.drop_index("ix_throttles_resets_at", "throttles")
    op.drop_index("ix_sessions_expires_at", "sessions")
    with op.batch_alter_table("sessions") as batch:
        batch.drop_column("credential_version")
    with op.batch_alter_table("users") as batch:
        batch.drop_column("credential_version")
