"""A second factor: session assurance (acr, amr, auth_time), TOTP factors, recovery codes,
and the login challenges between a password and a code.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Every session before this was a password login: aal1, pwd, authenticated when it began.
    with op.batch_alter_table("sessions") as batch:
        batch.add_column(sa.Column("acr", sa.String(8), nullable=False, server_default="aal1"))
        batch.add_column(sa.Column("amr", sa.String(64), nullable=False, server_default="pwd"))
        batch.add_column(sa.Column("auth_time", sa.BigInteger, nullable=False, server_default="0"))
    op.execute("UPDATE sessions SET auth_time = created_at")
    user_id = sa.Column(
        "user_id", sa.String(36), sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False
    )
    op.create_table(
        "totp_factors",
        sa.Column("id", sa.String(36), primary_key=True),
        user_id,
        sa.Column("secret", sa.Text, nullable=False),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.Column("confirmed_at", sa.BigInteger),
        sa.Column("last_used_step", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("last_used_at", sa.BigInteger),
    )
    op.create_index("ix_totp_factors_user_id", "totp_factors", ["user_id"])
    op.create_table(
        "recovery_codes",
        sa.Column(
            "user_id",
            sa.String(36),
            sa.ForeignKey("users.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("code_hash", sa.String(64), primary_key=True),
        sa.Column("created_at", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "mfa_challenges",
        sa.Column("token_hash", sa.String(64), primary_key=True),
        sa.Column(
            "user_id", sa.String(36), sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("credential_version", sa.Integer, nullable=False),
        sa.Column("expires_at", sa.BigInteger, nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    )
    op.create_index("ix_mfa_challenges_expires_at", "mfa_challenges", ["expires_at"])


def downgrade() -> None:
    op.drop_index("ix_mfa_challenges_expires_at", "mfa_challenges")
    op.drop_table("mfa_challenges")
    op.drop_table("recovery_codes")
    op.drop_index("ix_totp_factors_user_id", "totp_factors")
    op.drop_table("totp_factors")
    with op.batch_alter_table("sessions") as batch:
        batch.drop_column("auth_time")
        batch.drop_column("amr")
        batch.drop_column("acr")
