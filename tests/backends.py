"""The three storage backends every store and API test runs against."""

from __future__ import annotations

import asyncio
import atexit
import os
import uuid
from collections.abc import AsyncIterator, Collection, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path

import pytest

from authapi.store import MemoryStore, Store
from authapi.store.sql import SqlStore

BACKENDS = ["memory", "sqlite", "postgresql"]
POSTGRES_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")


def postgres_reason() -> str | None:
    """Return why PostgreSQL cannot be used, or None when it is reachable."""
    import asyncpg

    async def probe() -> None:
        connection = await asyncpg.connect(POSTGRES_URL, timeout=3)
        await connection.close()

    try:
        asyncio.run(probe())
    except Exception as error:
        return f"PostgreSQL at {POSTGRES_URL} is unreachable ({type(error).__name__})"
    return None


_POSTGRES_REASON: list[str | None] = []


def require_postgres() -> None:
    """Skip the test without PostgreSQL; under CI a missing server is a failure."""
    if not _POSTGRES_REASON:
        _POSTGRES_REASON.append(postgres_reason())
    reason = _POSTGRES_REASON[0]
    if reason is None:
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason}; CI requires it (set TEST_POSTGRES_URL)", pytrace=False)
    pytest.skip(reason)


@contextmanager
def storage_url(backend: str, tmp_path: Path) -> Iterator[str]:
    """Yield a STORAGE_URL for a fresh, empty store of this backend, and clean it up."""
    if backend == "memory":
        yield "memory://"
    elif backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'auth.db'}"
    else:
        require_postgres()
        schema = _EMPTIED_SCHEMAS.pop() if _EMPTIED_SCHEMAS else f"test_{uuid.uuid4().hex[:16]}"
        try:
            yield f"{POSTGRES_URL}?schema={schema}"
        finally:
            if asyncio.run(_emptied(schema)):
                _EMPTIED_SCHEMAS.append(schema)
            else:
                asyncio.run(_drop_schema(schema))


# Schemas this process migrated and a test used, emptied again for the next test: migrating
# a new schema to head costs more than most of the tests it serves. Dropped at exit.
_EMPTIED_SCHEMAS: list[str] = []


async def _emptied(schema: str) -> bool:
    """Empty a used schema's tables, keeping its migrations; False when it cannot be reused."""
    import asyncpg

    try:
        connection = await asyncpg.connect(POSTGRES_URL, timeout=3)
    except (OSError, asyncpg.PostgresError):
        return False
    try:
        tables = await connection.fetch(
            "SELECT tablename FROM pg_tables WHERE schemaname = $1", schema
        )
        names = {row["tablename"] for row in tables}
        # Never migrated (a test that opened no store), or left half-way: start afresh.
        if "alembic_version" not in names or names == {"alembic_version"}:
            return False
        # A test that left a connection holding a lock gets its schema dropped instead.
        await connection.execute("SET lock_timeout = '2s'")
        emptied = ", ".join(f'"{schema}"."{name}"' for name in sorted(names - {"alembic_version"}))
        await connection.execute(f"TRUNCATE {emptied} RESTART IDENTITY CASCADE")
    except asyncpg.PostgresError:
        return False
    finally:
        await connection.close()
    return True


@atexit.register
def _drop_emptied_schemas() -> None:
    if _EMPTIED_SCHEMAS:
        asyncio.run(_drop_schemas(list(_EMPTIED_SCHEMAS)))


async def _drop_schemas(schemas: list[str]) -> None:
    for schema in schemas:
        await _drop_schema(schema)


async def _drop_schema(schema: str) -> None:
    import asyncpg

    connection = await asyncpg.connect(POSTGRES_URL, timeout=3)
    try:
        await connection.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    finally:
        await connection.close()


@asynccontextmanager
async def opened_store(url: str) -> AsyncIterator[Store]:
    """Open (and migrate) a store for a test, and close it after."""
    store: Store = MemoryStore() if url == "memory://" else SqlStore(url)
    await store.open()
    try:
        yield store
    finally:
        await store.close()


async def end_the_backend_running(sql: str, attempts: int = 250) -> None:
    """Wait until a backend runs exactly `sql`, then have the server end it, as an outage."""
    import asyncpg

    admin = await asyncpg.connect(POSTGRES_URL, timeout=3)
    try:
        for _ in range(attempts):
            ended = await admin.fetchval(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE query = $1",
                sql,
            )
            if ended:
                return
            await asyncio.sleep(0.02)
    finally:
        await admin.close()
    raise AssertionError("the statement never started")


async def end_the_backend(pid: int, attempts: int = 250) -> None:
    """Have the server end one backend, as an outage, and wait until it has gone."""
    import asyncpg

    admin = await asyncpg.connect(POSTGRES_URL, timeout=3)
    try:
        await admin.execute("SELECT pg_terminate_backend($1)", pid)
        for _ in range(attempts):
            if not await admin.fetchval(
                "SELECT count(*) FROM pg_stat_activity WHERE pid = $1", pid
            ):
                return
            await asyncio.sleep(0.02)
    finally:
        await admin.close()
    raise AssertionError(f"backend {pid} outlived its end")


async def end_the_backend_waiting_for_a_lock(pids: Collection[int], attempts: int = 250) -> None:
    """Wait until one of `pids` waits for a lock mid-statement, then have the server end it."""
    import asyncpg

    admin = await asyncpg.connect(POSTGRES_URL, timeout=3)
    try:
        for _ in range(attempts):
            ended = await admin.fetchval(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE pid = ANY($1::int[]) AND wait_event_type = 'Lock'",
                list(pids),
            )
            if ended:
                return
            await asyncio.sleep(0.02)
    finally:
        await admin.close()
    raise AssertionError("no statement waited for the lock")


async def end_the_backends_named(application_name: str) -> int:
    """Have the server end every backend that `application_name` names; return how many."""
    import asyncpg

    admin = await asyncpg.connect(POSTGRES_URL, timeout=3)
    try:
        ended: int = await admin.fetchval(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE application_name = $1",
            application_name,
        )
    finally:
        await admin.close()
    return ended


def migration_head() -> str:
    """Return the newest migration's revision, which a fresh database must end at."""
    from alembic.script import ScriptDirectory

    from authapi.store.sql.migrate import MIGRATIONS_DIR

    head = ScriptDirectory(str(MIGRATIONS_DIR)).get_current_head()
    assert head is not None
    return head
