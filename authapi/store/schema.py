"""The SQL schema, as SQLAlchemy Core tables; Alembic migrations create it."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Dialect,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
    text,
)


class UtcDateTime(TypeDecorator[datetime]):
    """A point in time, stored in UTC and read back aware on every backend."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        when: datetime | None = value
        # SQLite hands back naive datetimes; asyncpg's are aware, and in UTC already.
        if when is None or when.tzinfo is not None:
            return when
        return when.replace(tzinfo=UTC)


metadata = MetaData()

users = Table(
    "users",
    metadata,
    Column("id", String(36), primary_key=True),
    # Normalized (lower-case) form; the unique constraint makes registration atomic.
    Column("email", String(254), nullable=False, unique=True),
    Column("password_hash", String(128), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    # Bumped by every credential change; a session made under an older version is dead.
    Column("credential_version", Integer, nullable=False, server_default="0"),
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
    # The user's credential version when the session began; see `users`.
    Column("credential_version", Integer, nullable=False, server_default="0"),
    # `api` or `browser`: the transport its refresh token may use; see records.Session.
    Column("kind", String(16), nullable=False, server_default="api"),
    # Orders the user's sessions (created_at has whole seconds): one more than the user's
    # highest when the session is added. Not part of the record; 0 from before migration 0005.
    Column("seq", BigInteger, nullable=False, server_default="0"),
    # The assurance its tokens carry (records.Assurance); `amr` is space-separated. A
    # session from before migration 0007 was a password login: aal1, pwd, its created_at.
    Column("acr", String(8), nullable=False, server_default="aal1"),
    Column("amr", String(64), nullable=False, server_default="pwd"),
    Column("auth_time", BigInteger, nullable=False, server_default="0"),
    Index("ix_sessions_user_id", "user_id"),
    # Serves the background purge of expired sessions.
    Index("ix_sessions_expires_at", "expires_at"),
)

# Fixed-window counters for throttling; keys are hashes, never raw emails or addresses.
throttles = Table(
    "throttles",
    metadata,
    Column("key", String(80), primary_key=True),
    Column("count", Integer, nullable=False),
    Column("resets_at", BigInteger, nullable=False),
    Index("ix_throttles_resets_at", "resets_at"),
)

# Addresses (hashed keys) an account has logged in from: their owner is never locked out
# by failures that strangers cause elsewhere.
known_addresses = Table(
    "known_addresses",
    metadata,
    Column("user_id", String(36), ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("address_key", String(80), primary_key=True),
    Column("last_seen", BigInteger, nullable=False),
)

tasks = Table(
    "tasks",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("user_id", String(36), ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("title", String(200), nullable=False),
    Column("description", Text),
    Column("completed", Boolean, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    # Serves "the caller's tasks, newest first" with keyset pagination.
    Index("ix_tasks_user_created", "user_id", "created_at", "id"),
)

# Second factors. The secret is AES-GCM ciphertext (authapi/secret_box.py), never the
# secret itself. Pending until `confirmed_at`; a pending factor is purged after 10 minutes.
totp_factors = Table(
    "totp_factors",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("user_id", String(36), ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("secret", Text, nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Column("confirmed_at", BigInteger),
    # The RFC 6238 time step of the last accepted code: a code is accepted only above it.
    Column("last_used_step", BigInteger, nullable=False, server_default="0"),
    Column("last_used_at", BigInteger),
    Index("ix_totp_factors_user_id", "user_id"),
)

# Recovery codes, each only as an HMAC-SHA256 under a key derived from MFA_ENCRYPTION_KEY;
# a used one is deleted.
recovery_codes = Table(
    "recovery_codes",
    metadata,
    Column("user_id", String(36), ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("code_hash", String(64), primary_key=True),
    Column("created_at", BigInteger, nullable=False),
)

# The second step of a login: the mfa_token only as its SHA-256, the flow it came from,
# the credential version its password was checked under, and its codes tried so far.
mfa_challenges = Table(
    "mfa_challenges",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("user_id", String(36), ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("credential_version", Integer, nullable=False),
    Column("expires_at", BigInteger, nullable=False),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Index("ix_mfa_challenges_expires_at", "expires_at"),
)

# Each user's WebAuthn user handle (`user.id` of the creation options): 32 random bytes in
# base64url, never the user's id or email, the same for every passkey of hers.
webauthn_user_handles = Table(
    "webauthn_user_handles",
    metadata,
    Column("user_id", String(36), ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("handle", String(64), nullable=False, unique=True),
)

# Passkeys: the credential id (unique across users) and the COSE public key in base64url;
# `sign_count` moves on by compare-and-set only.
passkeys = Table(
    "passkeys",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("user_id", String(36), ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    # At most 1,023 bytes (WebAuthn §5.8.3): 1,364 characters in base64url.
    Column("credential_id", String(1400), nullable=False, unique=True),
    Column("public_key", Text, nullable=False),
    Column("sign_count", BigInteger, nullable=False, server_default="0"),
    Column("aaguid", String(36), nullable=False),
    Column("backed_up", Boolean, nullable=False, server_default=text("false")),
    Column("name", String(64), nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Column("last_used_at", BigInteger),
    Index("ix_passkeys_user_id", "user_id"),
)

# Challenges handed out with WebAuthn options: deleted by the verify that answers them (or by
# the purge once expired), so each is answered at most once.
webauthn_challenges = Table(
    "webauthn_challenges",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("challenge", String(64), nullable=False),
    Column("purpose", String(16), nullable=False),
    Column("expires_at", BigInteger, nullable=False),
    Column("user_id", String(36), ForeignKey("users.id", ondelete="CASCADE")),
    Column("mfa_token_hash", String(64)),
    Index("ix_webauthn_challenges_expires_at", "expires_at"),
)

# Each user's account activity, which she reads newest first. `seq` orders it (times have
# whole seconds); `id` is what the API shows. Only fields a user may see are stored.
activity = Table(
    "activity",
    metadata,
    # SQLite makes an INTEGER PRIMARY KEY the rowid: it counts up by itself, as BIGSERIAL does.
    Column("seq", BigInteger().with_variant(Integer, "sqlite"), primary_key=True),
    Column("id", String(36), nullable=False, unique=True),
    Column("user_id", String(36), ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("type", String(32), nullable=False),
    Column("occurred_at", BigInteger, nullable=False),
    Column("ip", String(64)),
    Column("user_agent", String(256)),
    Column("session_id", String(36)),
    Column("reason", String(32)),
    Column("count", Integer, nullable=False, server_default="1"),
    # Repeated events of one kind (failures from one address within a minute) share a key,
    # and the upsert on it merges them; NULL for every event that never merges.
    Column("merge_key", String(64)),
    # The second factor an event concerns (its id only); NULL for every other event.
    Column("factor_id", String(36)),
    # Serves "the user's events, newest first" and the per-user bound.
    Index("ix_activity_user_seq", "user_id", "seq"),
    # Serves the purge of events past the retention period.
    Index("ix_activity_occurred_at", "occurred_at"),
    # Partial: only the few events that merge are in it, so the others never pay for it.
    Index(
        "ux_activity_user_merge_key",
        "user_id",
        "merge_key",
        unique=True,
        sqlite_where=text("merge_key IS NOT NULL"),
        postgresql_where=text("merge_key IS NOT NULL"),
    ),
)
