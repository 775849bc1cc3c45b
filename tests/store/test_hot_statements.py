"""Both spellings of the hot statements give the same answers to the same cases.

SQLite runs them on SQLAlchemy, PostgreSQL as prepared statements on asyncpg; each case
runs on both.
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from authapi.records import Session, User
from authapi.store.sql import SqlStore
from authapi.store.sql.hot import AlchemyHotStatements, AsyncpgHotStatements, HotStatements
from tests.backends import storage_url
from tests.store.test_store import NOW, a_session, a_task, a_user

SPELLINGS = {"sqlite": AlchemyHotStatements, "postgresql": AsyncpgHotStatements}


@pytest.fixture(params=sorted(SPELLINGS))
def url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    with storage_url(request.param, tmp_path) as url:
        yield url


@pytest.fixture
async def store(url: str) -> AsyncIterator[SqlStore]:
    store = SqlStore(url)
    await store.open()
    try:
        # The spelling is chosen with the store, once, by its backend.
        assert type(store._hot) is SPELLINGS[url.partition(":")[0]]
        yield store
    finally:
        await store.close()


def hot(store: SqlStore) -> HotStatements:
    return store._hot


async def a_user_with_a_session(store: SqlStore) -> tuple[User, Session]:
    # No column left at its default: each must come back from its own column.
    user = dataclasses.replace(a_user(), credential_version=2)
    await store.add_user(user)
    session = dataclasses.replace(
        a_session(user), user_agent="curl/8", client_ip="192.0.2.1", credential_version=2
    )
    assert await store.add_session(session)
    return user, session


async def test_the_session_check_reads_every_column_of_the_session_and_its_user(
    store: SqlStore,
) -> None:
    user, session = await a_user_with_a_session(store)
    assert await hot(store).session_and_user(session.id) == (session, user)
    assert await hot(store).session_and_user("no-such-session") is None


async def test_the_session_check_returns_a_revoked_session_too(store: SqlStore) -> None:
    user, session = await a_user_with_a_session(store)
    await hot(store).revoke_session(session.id, NOW)
    revoked = dataclasses.replace(session, revoked_at=NOW)
    assert await hot(store).session_and_user(session.id) == (revoked, user)


async def test_rotation_swaps_a_matching_hash_once(store: SqlStore) -> None:
    _, session = await a_user_with_a_session(store)
    assert await hot(store).rotate_refresh(session.id, "h0", "h1", NOW + 1)
    assert not await hot(store).rotate_refresh(session.id, "h0", "h2", NOW + 2)
    assert await store.get_session(session.id) == dataclasses.replace(
        session, refresh_hash="h1", previous_refresh_hash="h0", rotated_at=NOW + 1
    )


@pytest.mark.parametrize("ended", ["revoked", "expired"])
async def test_rotation_leaves_an_ended_session_alone(store: SqlStore, ended: str) -> None:
    _, session = await a_user_with_a_session(store)
    now = NOW + 1
    if ended == "revoked":
        await hot(store).revoke_session(session.id, now)
    else:
        now = session.expires_at
    assert not await hot(store).rotate_refresh(session.id, "h0", "h1", now)
    stored = await store.get_session(session.id)
    assert stored is not None and stored.refresh_hash == "h0"


async def test_revocation_keeps_the_first_time(store: SqlStore) -> None:
    _, session = await a_user_with_a_session(store)
    await hot(store).revoke_session(session.id, NOW + 1)
    await hot(store).revoke_session(session.id, NOW + 2)
    await hot(store).revoke_session("no-such-session", NOW + 3)
    stored = await store.get_session(session.id)
    assert stored is not None and stored.revoked_at == NOW + 1


async def test_the_first_page_is_the_owners_newest_tasks_and_says_whether_more_follow(
    store: SqlStore,
) -> None:
    ada, bob = a_user(), a_user("bob@example.com")
    await store.add_user(ada)
    await store.add_user(bob)
    tasks = [a_task(ada, f"t{i}", at=i, completed=i % 2 == 0) for i in range(3)]
    for task in [*tasks, a_task(bob, "not hers", at=9)]:
        assert await hot(store).add_task(task, None)

    page = await hot(store).first_tasks(ada.id, 2)
    assert page.items == [tasks[2], tasks[1]] and page.more
    page = await hot(store).first_tasks(ada.id, 3)
    assert page.items == tasks[::-1] and not page.more
    page = await hot(store).first_tasks("nobody", 3)
    assert page.items == [] and not page.more


async def test_a_capped_create_is_refused_once_the_user_holds_the_cap(store: SqlStore) -> None:
    ada, bob = a_user(), a_user("bob@example.com")
    await store.add_user(ada)
    await store.add_user(bob)
    assert await hot(store).add_task(a_task(ada, "first", at=0), 2)
    assert await hot(store).add_task(a_task(ada, "second", at=1), 2)
    assert not await hot(store).add_task(a_task(ada, "third", at=2), 2)
    # Another user's tasks count for that user only.
    assert await hot(store).add_task(a_task(bob, "his", at=3), 1)
    titles = [task.title for task in (await hot(store).first_tasks(ada.id, 10)).items]
    assert titles == ["second", "first"]
