"""What only the SQL stores promise: WAL, migrations, cheap session checks."""

from __future__ import annotations

import asyncio
import sqlite3
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from authapi.errors import StoreUnavailable
from authapi.store.sql import SqlStore
from authapi.store.sql.engine import async_url
from tests.backends import (
    POSTGRES_URL,
    migration_head,
    opened_store,
    require_postgres,
    storage_url,
)


async def test_sqlite_runs_in_wal_mode(tmp_path: Path) -> None:
    async with opened_store(f"sqlite:///{tmp_path / 'auth.db'}"):
        pass
    with sqlite3.connect(tmp_path / "auth.db") as connection:
        assert connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


async def test_fresh_database_is_migrated_to_head(tmp_path: Path) -> None:
    async with opened_store(f"sqlite:///{tmp_path / 'auth.db'}"):
        pass
    with sqlite3.connect(tmp_path / "auth.db") as connection:
        tables = {row[0] for row in connection.execute("SELECT name FROM sqlite_master")}
        version = connection.execute("SELECT version_num FROM alembic_version").fetchone()[0]
    assert {"users", "sessions", "tasks", "throttles", "known_addresses", "activity"} <= tables
    assert version == migration_head()


async def test_opening_twice_migrates_once(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'auth.db'}"
    async with opened_store(url):
        pass
    async with opened_store(url) as store:
        await store.ping()


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_session_check_is_one_primary_key_lookup(backend: str, tmp_path: Path) -> None:
    async def plan_for(url: str) -> str:
        store = SqlStore(url)
        await store.open()
        try:
            if backend == "postgresql":
                await _fill_sessions_and_analyze(store)
            return await store.explain_session_lookup()
        finally:
            await store.close()

    with storage_url(backend, tmp_path) as url:
        plan = asyncio.run(plan_for(url))
    print(plan)  # shown with -s: the plan is the evidence
    if backend == "sqlite":
        assert "USING INDEX sqlite_autoindex_sessions_1 (id=?)" in plan
    else:
        assert "Index Scan using sessions_pkey on sessions" in plan


async def _fill_sessions_and_analyze(store: SqlStore) -> None:
    from sqlalchemy import text

    # On an empty table any plan is cheap; with rows and statistics the planner must choose.
    async with store._database.connect(write=True) as connection:
        await connection.execute(text("INSERT INTO users VALUES ('u', 'u@x.io', 'h', now())"))
        await connection.execute(
            text(
                "INSERT INTO sessions (id, user_id, created_at, expires_at, refresh_hash) "
                "SELECT 's' || g, 'u', 0, 1, 'h' FROM generate_series(1, 5000) g"
            )
        )
        await connection.execute(text("ANALYZE sessions"))


def test_storage_url_maps_to_async_drivers() -> None:
    assert async_url("sqlite:////var/lib/auth.db") == ("sqlite+aiosqlite:////var/lib/auth.db", None)
    assert async_url("postgresql://u@h:5432/db?schema=s1") == (
        "postgresql+asyncpg://u@h:5432/db",
        "s1",
    )


def test_application_name_is_a_session_setting_not_part_of_the_driver_url() -> None:
    assert async_url("postgresql://u@h/db?schema=s1&application_name=auth-api") == (
        "postgresql+asyncpg://u@h/db",
        "s1",
    )


def test_schema_name_is_vetted() -> None:
    with pytest.raises(ValueError):
        async_url('postgresql://u@h/db?schema=x";drop table users;--')


def test_postgres_url_defaults_to_the_local_server() -> None:
    require_postgres()
    assert POSTGRES_URL.startswith("postgresql://")


def test_postgresql_pool_is_fixed_at_its_size() -> None:
    # Connections beyond the pool would be opened and closed per burst; requests wait instead.
    store = SqlStore(POSTGRES_URL, pool_size=3)
    pool = store._database.engine.pool
    assert pool.size() == 3  # type: ignore[attr-defined]
    assert pool._max_overflow == 0  # type: ignore[attr-defined]


@pytest.fixture
def postgres_url(tmp_path: Path) -> Iterator[str]:
    with storage_url("postgresql", tmp_path) as url:
        yield url


async def test_the_url_names_every_connection_of_the_store(postgres_url: str) -> None:
    import asyncpg

    name = f"auth-api-test-{uuid.uuid4().hex[:12]}"
    store = SqlStore(f"{postgres_url}&application_name={name}")
    await store.open()
    try:
        await store.ping()  # on one connection of each kind: SQLAlchemy's and asyncpg's
        admin = await asyncpg.connect(POSTGRES_URL)
        try:
            named = await admin.fetchval(
                "SELECT count(*) FROM pg_stat_activity WHERE application_name = $1", name
            )
        finally:
            await admin.close()
        assert named == 2
    finally:
        await store.close()


async def test_a_request_that_cannot_get_a_connection_in_time_gets_store_unavailable(
    monkeypatch: pytest.MonkeyPatch, postgres_url: str
) -> None:
    store = SqlStore(postgres_url, pool_size=1)
    # Opened (and migrated) at the usual timeout: on a busy machine the migrations, or just
    # connecting, may take longer than the short wait for a turn that this test is about.
    await store.open()
    monkeypatch.setattr(store._database.turns, "_timeout", 0.2)
    try:
        async with store._database.connect():  # the only connection, held
            with pytest.raises(StoreUnavailable):
                await store.get_session("any")
        assert await store.get_session("any") is None  # and served once it is free
    finally:
        await store.close()


@pytest.fixture(params=["sqlite", "postgresql"])
def sql_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    with storage_url(request.param, tmp_path) as url:
        yield url


async def test_purge_forgets_known_addresses_unseen_for_ninety_days(sql_url: str) -> None:
    from sqlalchemy import insert, select

    from authapi.store.base import KNOWN_ADDRESS_RETENTION_SECONDS
    from authapi.store.schema import known_addresses
    from tests.store.test_store import NOW, a_user

    store = SqlStore(sql_url)
    await store.open()
    try:
        user = a_user()
        await store.add_user(user)
        cutoff = NOW - KNOWN_ADDRESS_RETENTION_SECONDS
        async with store._database.connect(write=True) as connection:
            await connection.execute(
                insert(known_addresses),
                [
                    {"user_id": user.id, "address_key": "stale", "last_seen": cutoff - 1},
                    {"user_id": user.id, "address_key": "recent", "last_seen": cutoff},
                ],
            )
        assert await store.purge(NOW, batch=10) == 1
        async with store._database.connect() as connection:
            kept = (await connection.execute(select(known_addresses.c.address_key))).all()
        assert [row[0] for row in kept] == ["recent"]
    finally:
        await store.close()
