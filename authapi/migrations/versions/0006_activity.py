"""Each user's account activity: what happened to her account, for her to read.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "activity",
        sa.Column("seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True),
        sa.Column("id", sa.String(36), nullable=False, unique=True),
        sa.Column(
            "user_id",
            sa.String(36),
            sa.ForeignKey("users.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("type", sa.String(32), nullable=False),
        sa.Column("occurred_at", sa.BigInteger, nullable=False),
        sa.Column("ip", sa.String(64)),
        sa.Column("user_agent", sa.String(256)),
        sa.Column("session_id", sa.String(36)),
        sa.Column("reason", sa.String(32)),
        sa.Column("count", sa.Integer, nullable=False, server_default="1"),
        sa.Column("merge_key", sa.String(64)),
    )
    op.create_index("ix_activity_user_seq", "activity", ["user_id", "seq"])
    op.create_index("ix_activity_occurred_at", "activity", ["occurred_at"])
    # Partial: only the few events that merge are in it, so the others never pay for it.
    op.create_index(
        "ux_activity_user_merge_key",
        "activity",
        ["user_id", "merge_key"],
        unique=True,
        sqlite_where=sa.text("merge_key IS NOT NULL"),
        postgresql_where=sa.text("merge_key IS NOT NULL"),
    )


def downgrade() -> None:
    op.drop_table("activity")
