"""The SQL schema, as SQLAlchemy Core tables; Alembic migrations create it."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)

metadata = MetaData()

users = Table(
    "users",
    metadata,
    Column("id", String(36), primary_key=True),
    # Normalized (lower-case) form; the unique constraint makes registration atomic.
    Column("email", String(254), nullable=False, unique=True),
    Column("password_hash", String(128), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

sessions = Table(
    "sessions",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("user_id", String(36), ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Column("expires_at", BigInteger, nullable=False),
    # SHA-256 of the current and the previous refresh token; never the tokens themselves.
    Column("refresh_hash", String(64), nullable=False),
    Column("previous_refresh_hash", String(64)),
    Column("rotated_at", BigInteger),
    Column("revoked_at", BigInteger),
    Column("user_agent", String(256)),
    Column("client_ip", String(64)),
    Index("ix_sessions_user_id", "user_id"),
)

# Fixed-window counters for throttling; keys are hashes, never raw emails or addresses.
throttles = Table(
    "throttles",
    metadata,
    Column("key", String(80), primary_key=True),
    Column("count", Integer, nullable=False),
    Column("resets_at", BigInteger, nullable=False),
)

tasks = Table(
    "tasks",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("user_id", String(36), ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("title", String(200), nullable=False),
    Column("description", Text),
    Column("completed", Boolean, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    # Serves "the caller's tasks, newest first" with keyset pagination.
    Index("ix_tasks_user_created", "user_id", "created_at", "id"),
)
