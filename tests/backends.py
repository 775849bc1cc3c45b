"""The three storage backends every store and API test runs against."""

from __future__ import annotations

import asyncio
import atexit
import os
import shutil
import tempfile
import uuid
from collections.abc import AsyncIterator, Collection, Iterable, Iterator, Mapping
from contextlib import asynccontextmanager, contextmanager
from graphlib import CycleError, TopologicalSorter
from pathlib import Path

import pytest

from authapi.store import MemoryStore, Store
from authapi.store.sql import SqlStore

BACKENDS = ["memory", "sqlite", "postgresql"]
# For a test of what the app decides before it reads or writes any store (validation, origins,
# headers, token decoding, problem shapes): the memory store stands for all three, since on
# SQLite and PostgreSQL the test would only pay for a store that plays no part.
decided_before_the_store = pytest.mark.parametrize("store_url", ["memory"], indirect=True)
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
        path = tmp_path / "auth.db"
        shutil.copyfile(_sqlite_template(), path)
        yield f"sqlite:///{path}"
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


# A SQLite file this process migrated once and copies for each test: copying a file costs
# next to nothing, and running every migration on a new file costs more than most tests.
_SQLITE_TEMPLATE: list[Path] = []


def _sqlite_template() -> Path:
    """Return an empty SQLite store at the newest migration, made on first use."""
    if not _SQLITE_TEMPLATE:
        directory = Path(tempfile.mkdtemp(prefix="auth-api-sqlite-"))
        atexit.register(shutil.rmtree, directory, ignore_errors=True)
        path = directory / "template.db"

        async def migrated() -> None:
            async with opened_store(f"sqlite:///{path}"):
                pass

        asyncio.run(migrated())
        # Closing the last connection folds the write-ahead log into the file itself.
        assert not path.with_name(f"{path.name}-wal").exists()
        _SQLITE_TEMPLATE.append(path)
    return _SQLITE_TEMPLATE[0]


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
        order = _referencing_first(
            names - {"alembic_version"}, await connection.fetch(_FOREIGN_KEYS, schema)
        )
        if order is None:
            return False
        # A test that left a connection holding a lock gets its schema dropped instead.
        await connection.execute("SET lock_timeout = '2s'")
        # DELETE, not TRUNCATE: a test leaves a few rows, and TRUNCATE makes every table a
        # new file (some 100 ms for the schema) where DELETE takes under one. Sequences
        # start again, as TRUNCATE's RESTART IDENTITY had them.
        sequences = await connection.fetch(
            "SELECT sequence_name FROM information_schema.sequences WHERE sequence_schema = $1",
            schema,
        )
        async with connection.transaction():
            for name in order:
                await connection.execute(f'DELETE FROM "{schema}"."{name}"')
            for row in sequences:
                await connection.execute(
                    f'ALTER SEQUENCE "{schema}"."{row["sequence_name"]}" RESTART'
                )
    except asyncpg.PostgresError:
        return False
    finally:
        await connection.close()
    return True


_FOREIGN_KEYS = """
SELECT child.relname AS child, parent.relname AS parent
FROM pg_constraint AS c
JOIN pg_class AS child ON child.oid = c.conrelid
JOIN pg_class AS parent ON parent.oid = c.confrelid
JOIN pg_namespace AS n ON n.oid = c.connamespace
WHERE c.contype = 'f' AND n.nspname = $1
"""


def _referencing_first(names: set[str], keys: Iterable[Mapping[str, str]]) -> list[str] | None:
    """Order tables so each is emptied before the tables it references; None on a cycle."""
    referenced_by: dict[str, set[str]] = {name: set() for name in names}
    for key in keys:
        if key["child"] != key["parent"] and key["parent"] in referenced_by:
            referenced_by[key["parent"]].add(key["child"])
    try:
        return list(TopologicalSorter(referenced_by).static_order())
    except CycleError:
        return None


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
