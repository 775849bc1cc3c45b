"""The stores the tests get: every one empty and at the newest migration, however it was made."""

from __future__ import annotations

import asyncio
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import asyncpg

from authapi.records import Session, User
from authapi.store import Store
from tests.backends import (
    _EMPTIED_SCHEMAS,
    POSTGRES_URL,
    _referencing_first,
    migration_head,
    opened_store,
    storage_url,
)


async def _fill(url: str) -> None:
    """Leave a user and a session, which references the user, in the store."""
    store: Store
    async with opened_store(url) as store:
        user = User(
            id="u1", email="ada@example.com", password_hash="h", created_at=datetime.now(UTC)
        )
        await store.add_user(user)
        session = Session(id="s1", user_id="u1", created_at=1, expires_at=2, refresh_hash="r")
        assert await store.add_session(session)


def test_each_sqlite_store_is_a_fresh_copy_at_the_newest_migration(tmp_path: Path) -> None:
    first, second = tmp_path / "first", tmp_path / "second"
    first.mkdir()
    second.mkdir()
    with storage_url("sqlite", first) as url:
        asyncio.run(_fill(url))
    with storage_url("sqlite", second) as url:
        with sqlite3.connect(second / "auth.db") as connection:
            version = connection.execute("SELECT version_num FROM alembic_version").fetchone()
            users = connection.execute("SELECT count(*) FROM users").fetchone()
    assert version == (migration_head(),)
    assert users == (0,)


def test_a_used_postgresql_schema_is_handed_on_with_every_table_empty(tmp_path: Path) -> None:
    with storage_url("postgresql", tmp_path) as url:
        asyncio.run(_fill(url))
        schema = url.rsplit("schema=", 1)[1]
    # Handed on, not dropped: the next test of this process gets it without migrating.
    assert _EMPTIED_SCHEMAS[-1] == schema

    async def row_counts() -> dict[str, int]:
        connection = await asyncpg.connect(POSTGRES_URL)
        try:
            tables = await connection.fetch(
                "SELECT tablename FROM pg_tables WHERE schemaname = $1 "
                "AND tablename <> 'alembic_version'",
                schema,
            )
            return {
                row["tablename"]: await connection.fetchval(
                    f'SELECT count(*) FROM "{schema}"."{row["tablename"]}"'
                )
                for row in tables
            }
        finally:
            await connection.close()

    counts = asyncio.run(row_counts())
    assert {"users", "sessions"} <= set(counts)
    assert set(counts.values()) == {0}


def test_tables_are_emptied_before_the_tables_they_reference() -> None:
    keys = [
        {"child": "sessions", "parent": "users"},
        {"child": "tasks", "parent": "users"},
        {"child": "tasks", "parent": "tasks"},
    ]
    order = _referencing_first({"users", "sessions", "tasks", "throttles"}, keys)
    assert order is not None
    assert sorted(order) == ["sessions", "tasks", "throttles", "users"]
    assert order.index("users") > max(order.index("sessions"), order.index("tasks"))


def test_tables_that_reference_each_other_have_no_order() -> None:
    keys = [{"child": "a", "parent": "b"}, {"child": "b", "parent": "a"}]
    assert _referencing_first({"a", "b"}, keys) is None
