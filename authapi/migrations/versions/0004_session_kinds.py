"""Each session's kind: `api` (refresh token in a JSON body) or `browser` (in a cookie).

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Sessions begun before kinds existed were API sessions or browser ones alike; `api`
    # keeps every JSON client's refresh working, and a browser session from before the
    # upgrade is refused by the browser endpoints once: the user logs in again.
    with op.batch_alter_table("sessions") as batch:
        batch.add_column(sa.Column("kind", sa.String(16), nullable=False, server_default="api"))


def downgrade() -> None:
    with op.batch_alter_table("sessions") as batch:
        batch.drop_column("kind")
