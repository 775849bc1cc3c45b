"""Filler rows for a large store: through the store's own methods, or in bulk on PostgreSQL.

Filler number `n` is a user with one live session, one task, one throttle counter, one
known login address and one activity event (its login), every value derived from `n`. The
store's methods write them one at a time, a commit each: fine for the memory store, but on
PostgreSQL a million of each would take hours. There one `INSERT ... SELECT
generate_series` per table writes the same rows; `tests/bench/test_filler.py` fills a
store both ways and reads every row back through the store, so that the bulk statements
cannot drift from what the store itself writes.
"""

from __future__ import annotations

import contextlib
import hashlib
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import asyncpg

from authapi.records import Activity, Session, Task, User
from authapi.store import Store
from bench.harness.postgres import connect_to_schema

# Sessions and counters outlive any run, so that no purge touches them.
LIFETIME = 30 * 86400
EPOCH = datetime(2024, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Filler:
    """What filler number `n` adds: a user, its session and task, a counter, an address,
    and the activity event of its login."""

    user: User
    session: Session
    task: Task
    counter_key: str
    address_key: str
    activity: Activity


def filler(number: int, now: int, password_hash: str) -> Filler:
    """Build filler `number` (from 1), as `_BULK_SQL` spells it for PostgreSQL."""
    user_id = _uuid(f"user{number}")
    created_at = EPOCH + timedelta(seconds=number)
    return Filler(
        user=User(user_id, f"fill{number}@example.com", password_hash, created_at),
        session=Session(
            id=_uuid(f"session{number}"),
            user_id=user_id,
            created_at=now,
            expires_at=now + LIFETIME,
            refresh_hash=_sha256(f"refresh{number}"),
        ),
        task=Task(
            id=_uuid(f"task{number}"),
            user_id=user_id,
            title=f"Filler task {number}",
            description=None,
            completed=number % 2 == 0,
            created_at=created_at,
            updated_at=created_at,
        ),
        counter_key="fail:" + _sha256(f"filler {number}"),
        address_key="addr:" + _sha256(f"address {number}"),
        activity=Activity(
            id=_uuid(f"activity{number}"),
            user_id=user_id,
            type="login_succeeded",
            occurred_at=now,
            ip="192.0.2.1",
            user_agent="filler/1.0",
            session_id=_uuid(f"session{number}"),
        ),
    )


async def fill_through_store(store: Store, rows: int, now: int, password_hash: str) -> None:
    """Add fillers 1 to `rows` with the store's own methods."""
    for number in range(1, rows + 1):
        row = filler(number, now, password_hash)
        await store.add_user(row.user)
        await store.add_session(row.session)
        await store.add_task(row.task)
        await store.hit(row.counter_key, LIFETIME, now)
        await store.remember_address(row.user.id, row.address_key, now)
        await store.record_activity(row.activity)


# Each statement spells `filler` for every n from 1 to $1.
_BULK_SQL = (
    """
    INSERT INTO users (id, email, password_hash, created_at)
    SELECT md5('user' || n)::uuid::text, 'fill' || n || '@example.com', $2::text,
           $3::timestamptz + n * interval '1 second'
    FROM generate_series(1, $1::int) AS n
    """,
    """
    INSERT INTO sessions (id, user_id, created_at, expires_at, refresh_hash)
    SELECT md5('session' || n)::uuid::text, md5('user' || n)::uuid::text, $2::bigint,
           $2::bigint + $3::bigint, encode(sha256(('refresh' || n)::bytea), 'hex')
    FROM generate_series(1, $1::int) AS n
    """,
    """
    INSERT INTO tasks (id, user_id, title, description, completed, created_at, updated_at)
    SELECT md5('task' || n)::uuid::text, md5('user' || n)::uuid::text, 'Filler task ' || n,
           NULL, n % 2 = 0, $2::timestamptz + n * interval '1 second',
           $2::timestamptz + n * interval '1 second'
    FROM generate_series(1, $1::int) AS n
    """,
    """
    INSERT INTO throttles (key, count, resets_at)
    SELECT 'fail:' || encode(sha256(('filler ' || n)::bytea), 'hex'), 1, $2::bigint + $3::bigint
    FROM generate_series(1, $1::int) AS n
    """,
    """
    INSERT INTO known_addresses (user_id, address_key, last_seen)
    SELECT md5('user' || n)::uuid::text,
           'addr:' || encode(sha256(('address ' || n)::bytea), 'hex'), $2::bigint
    FROM generate_series(1, $1::int) AS n
    """,
    """
    INSERT INTO activity (id, user_id, type, occurred_at, ip, user_agent, session_id)
    SELECT md5('activity' || n)::uuid::text, md5('user' || n)::uuid::text, 'login_succeeded',
           $2::bigint, '192.0.2.1', 'filler/1.0', md5('session' || n)::uuid::text
    FROM generate_series(1, $1::int) AS n
    """,
)


async def fill_in_bulk(storage_url: str, rows: int, now: int, password_hash: str) -> None:
    """Add fillers 1 to `rows` to the migrated PostgreSQL schema of `storage_url`."""
    connection = await connect_to_schema(storage_url)
    try:
        # As pg_restore does: no foreign-key triggers while loading rows that are consistent
        # by construction, a third less time at a million rows. Superusers only.
        with contextlib.suppress(asyncpg.InsufficientPrivilegeError):
            await connection.execute("SET session_replication_role = replica")
        users, sessions, tasks, throttles, addresses, activity = _BULK_SQL
        await connection.execute(users, rows, password_hash, EPOCH)
        await connection.execute(sessions, rows, now, LIFETIME)
        await connection.execute(tasks, rows, EPOCH)
        await connection.execute(throttles, rows, now, LIFETIME)
        await connection.execute(addresses, rows, now)
        await connection.execute(activity, rows, now)
        # Fresh statistics, so the planner sees the tables as they now are.
        await connection.execute(
            "ANALYZE users, sessions, tasks, throttles, known_addresses, activity"
        )
    finally:
        await connection.close()


def _uuid(seed: str) -> str:
    # PostgreSQL's md5(seed)::uuid.
    return str(uuid.UUID(hashlib.md5(seed.encode()).hexdigest()))


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()
