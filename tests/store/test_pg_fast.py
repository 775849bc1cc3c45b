"""The hot statements on asyncpg: outages become 503s, bad statements stay loud, caps hold."""

from __future__ import annotations

import asyncio
import dataclasses
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import pytest

from authapi.errors import StoreUnavailable
from authapi.records import Task
from authapi.store.sql import SqlStore
from authapi.store.sql.hot import AsyncpgHotStatements, begin_locking_user
from tests.backends import end_the_backend_running, opened_store, storage_url
from tests.store.test_store import NOW, a_session, a_user


@pytest.fixture
def postgres_url(tmp_path: Path) -> Iterator[str]:
    with storage_url("postgresql", tmp_path) as url:
        yield url


def test_a_hot_statement_whose_backend_the_server_ends_is_an_outage_then_served(
    postgres_url: str,
) -> None:
    async def scenario() -> None:
        marker = f"SELECT pg_sleep(5) -- {uuid.uuid4().hex}"
        async with opened_store(postgres_url) as store:
            assert isinstance(store, SqlStore)
            user = a_user()
            session = a_session(user)
            await store.add_user(user)
            assert await store.add_session(session)
            slow = asyncio.create_task(_fetchrow_in_a_turn(store, marker))
            await end_the_backend_running(marker)
            with pytest.raises(StoreUnavailable):
                await slow
            assert await store.get_session_and_user(session.id) == (session, user)

    asyncio.run(scenario())


def test_a_bad_hot_statement_stays_loud_and_keeps_its_connection(postgres_url: str) -> None:
    async def scenario() -> None:
        async with opened_store(postgres_url) as store:
            assert isinstance(store, SqlStore)
            await store.ping()
            with pytest.raises(asyncpg.exceptions.UndefinedColumnError):
                await _fetchrow_in_a_turn(store, "SELECT no_such_column FROM users")
            assert isinstance(store._hot, AsyncpgHotStatements)
            assert len(store._hot._connections._idle) == 1
            assert await store.get_session_and_user("none") is None

    asyncio.run(scenario())


async def _fetchrow_in_a_turn(store: SqlStore, sql: str) -> object:
    assert isinstance(store._hot, AsyncpgHotStatements)
    async with store._database.turns:
        return await store._hot._connections.fetchrow(sql)


# A canonical UUID has its row lock sent with BEGIN; any other id locks in its own statement.
@pytest.mark.parametrize("user_id", ["3f2b8c4e-9d1a-4e6b-8f7c-2a5d9e0b1c43", "O'Brien-not-a-uuid"])
def test_the_task_cap_holds_when_creates_race(postgres_url: str, user_id: str) -> None:
    async def scenario() -> None:
        async with opened_store(postgres_url) as store:
            user = dataclasses.replace(a_user(), id=user_id)
            await store.add_user(user)
            now = datetime.fromtimestamp(NOW, UTC)
            tasks = [
                Task(str(uuid.uuid4()), user.id, f"task {n}", None, False, now, now)
                for n in range(12)
            ]
            added = await asyncio.gather(*(store.add_task(task, max_tasks=5) for task in tasks))
            assert sum(added) == 5
            page = await store.list_tasks(user.id, limit=20)
            assert len(page.items) == 5 and not page.more

    asyncio.run(scenario())


@pytest.mark.parametrize(
    "user_id",
    ["O'Brien", "00000000-0000-0000-0000-00000000000'", "6F9619FF-8B86-D011-B42D-00C04FC964FF", ""],
)
def test_only_a_canonical_uuid_is_written_into_the_locking_begin(user_id: str) -> None:
    assert begin_locking_user(user_id) is None


def test_a_canonical_uuid_is_locked_with_the_begin() -> None:
    user_id = str(uuid.uuid4())
    assert begin_locking_user(user_id) == (
        f"BEGIN; SELECT 1 FROM users WHERE id = '{user_id}' FOR NO KEY UPDATE"
    )
