"""The activity log's store contract, the same on every backend (memory, SQLite, PostgreSQL)."""

from __future__ import annotations

import asyncio
import dataclasses
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy

from authapi.activity import event
from authapi.records import NO_PEER, Activity, Peer, Session
from authapi.store import MemoryStore, Store
from authapi.store.base import ActivityBounds
from authapi.store.sql import SqlStore
from tests.backends import storage_url
from tests.store.test_store import NOW, a_session, a_user

STRANGER = Peer(address="198.51.100.23", user_agent="curl/8.5.0")
ADA = Peer(address="203.0.113.7", user_agent="Mozilla/5.0")


@pytest.fixture
async def small_store(store_url: str) -> AsyncIterator[Store]:
    """A store that keeps five events per user for thirty days."""
    bounds = ActivityBounds(max_per_user=5, retention_seconds=30 * 86400)
    opened: Store = (
        MemoryStore(activity=bounds)
        if store_url == "memory://"
        else SqlStore(store_url, activity=bounds)
    )
    await opened.open()
    try:
        yield opened
    finally:
        await opened.close()


def failed(user_id: str, now: int = NOW, peer: Peer = STRANGER) -> Activity:
    return event("login_failed", user_id, now, peer, reason="wrong_password")


async def types_of(store: Store, user_id: str, limit: int = 100) -> list[str]:
    page = await store.list_activity(user_id, limit=limit)
    return [item.type for item in page.items]


async def test_recorded_events_come_back_newest_first_with_every_field(store: Store) -> None:
    user = a_user()
    await store.add_user(user)
    first = failed(user.id)
    second = event("login_throttled", user.id, NOW, ADA)
    await store.record_activity(first)
    await store.record_activity(second)
    page = await store.list_activity(user.id, limit=10)
    assert page.items == [second, first]
    assert not page.more


async def test_a_page_says_whether_more_follow_and_starts_after_an_event(store: Store) -> None:
    user = a_user()
    await store.add_user(user)
    recorded = [event("login_throttled", user.id, NOW + i, Peer(f"10.0.0.{i}")) for i in range(5)]
    for item in recorded:
        await store.record_activity(item)
    first = await store.list_activity(user.id, limit=2)
    assert first.items == recorded[:2:-1] and first.more
    second = await store.list_activity(user.id, limit=2, after=first.items[-1].id)
    assert second.items == [recorded[2], recorded[1]] and second.more
    last = await store.list_activity(user.id, limit=2, after=second.items[-1].id)
    assert last.items == [recorded[0]] and not last.more


async def test_type_filters_the_page(store: Store) -> None:
    user = a_user()
    await store.add_user(user)
    await store.record_activity(failed(user.id))
    await store.record_activity(event("login_throttled", user.id, NOW, STRANGER))
    page = await store.list_activity(user.id, limit=10, type="login_failed")
    assert [item.type for item in page.items] == ["login_failed"]


async def test_another_users_event_id_gives_an_empty_page(store: Store) -> None:
    ada, eve = a_user(), a_user("eve@example.com")
    await store.add_user(ada)
    await store.add_user(eve)
    await store.record_activity(failed(ada.id))
    eves = event("login_throttled", eve.id, NOW, STRANGER)
    await store.record_activity(eves)
    await store.record_activity(event("login_throttled", eve.id, NOW + 1, STRANGER))
    assert (await store.list_activity(ada.id, limit=10, after=eves.id)).items == []
    assert (await store.list_activity(ada.id, limit=10, after=str(uuid.uuid4()))).items == []
    assert [item.user_id for item in (await store.list_activity(ada.id, limit=10)).items] == [
        ada.id
    ]


async def test_failures_from_one_address_within_a_minute_merge_into_one_count(
    store: Store,
) -> None:
    user = a_user()
    await store.add_user(user)
    minute = NOW - NOW % 60
    for second in (0, 10, 59):
        await store.record_activity(failed(user.id, minute + second))
    await store.record_activity(failed(user.id, minute + 30, ADA))  # another address
    await store.record_activity(failed(user.id, minute + 60))  # the next minute
    page = await store.list_activity(user.id, limit=10)
    assert [(item.ip, item.count) for item in page.items] == [
        (STRANGER.address, 1),
        (ADA.address, 1),
        (STRANGER.address, 3),
    ]
    # The merged event keeps its first moment, and so its place.
    assert page.items[-1].occurred_at == minute


async def test_parallel_failures_from_one_address_merge_into_one_event(store: Store) -> None:
    user = a_user()
    await store.add_user(user)
    await asyncio.gather(*(store.record_activity(failed(user.id)) for _ in range(20)))
    page = await store.list_activity(user.id, limit=100)
    assert [(item.type, item.count) for item in page.items] == [("login_failed", 20)]


async def test_each_user_keeps_only_the_newest_events_up_to_the_bound(
    small_store: Store,
) -> None:
    ada, eve = a_user(), a_user("eve@example.com")
    await small_store.add_user(ada)
    await small_store.add_user(eve)
    await small_store.record_activity(event("login_throttled", eve.id, NOW, STRANGER))
    recorded = [event("login_throttled", ada.id, NOW + i, Peer(f"10.0.0.{i}")) for i in range(8)]
    for item in recorded:
        await small_store.record_activity(item)
    page = await small_store.list_activity(ada.id, limit=100)
    assert page.items == recorded[:2:-1]
    # Another user's events are never what makes room.
    assert len((await small_store.list_activity(eve.id, limit=100)).items) == 1


async def test_a_merge_at_the_bound_drops_nothing(small_store: Store) -> None:
    user = a_user()
    await small_store.add_user(user)
    recorded = [event("login_throttled", user.id, NOW + i, Peer(f"10.0.0.{i}")) for i in range(4)]
    for item in recorded:
        await small_store.record_activity(item)
    await small_store.record_activity(failed(user.id, NOW + 10))
    await small_store.record_activity(failed(user.id, NOW + 11))
    page = await small_store.list_activity(user.id, limit=100)
    assert [item.count for item in page.items] == [2, 1, 1, 1, 1]


async def test_the_purge_deletes_events_past_retention_only(small_store: Store) -> None:
    user = a_user()
    await small_store.add_user(user)
    old = failed(user.id, NOW - 31 * 86400)
    recent = failed(user.id, NOW - 29 * 86400)
    await small_store.record_activity(old)
    await small_store.record_activity(recent)
    assert await small_store.purge(NOW, batch=100) >= 1
    assert (await small_store.list_activity(user.id, limit=10)).items == [recent]


async def test_a_login_records_its_event_only_if_the_session_was_added(store: Store) -> None:
    user = a_user()
    await store.add_user(user)
    session = a_session(user)
    logged_in = event("login_succeeded", user.id, NOW, ADA, session_id=session.id)
    assert await store.add_session(session, 10, logged_in)
    stale = dataclasses.replace(a_session(user), credential_version=7)
    lost = event("login_succeeded", user.id, NOW, ADA, session_id=stale.id)
    assert not await store.add_session(stale, 10, lost)
    assert (await store.list_activity(user.id, limit=10)).items == [logged_in]


async def test_a_revocation_records_its_event_only_when_it_revoked(store: Store) -> None:
    user = a_user()
    await store.add_user(user)
    session = a_session(user)
    await store.add_session(session)
    for _ in range(2):
        ended = event("session_revoked", user.id, NOW, ADA, session_id=session.id, reason="ended")
        await store.revoke_session(session.id, NOW, ended)
    assert await types_of(store, user.id) == ["session_revoked"]


async def test_a_rehash_records_its_event_only_when_it_swapped(store: Store) -> None:
    user = a_user()
    await store.add_user(user)
    rehashed = event("password_rehashed", user.id, NOW, ADA)
    assert not await store.set_password_hash(user.id, "not the hash", "new", rehashed)
    assert await types_of(store, user.id) == []
    assert await store.set_password_hash(user.id, user.password_hash, "new", rehashed)
    assert await types_of(store, user.id) == ["password_rehashed"]


async def test_credential_changes_record_how_many_sessions_they_ended(store: Store) -> None:
    user = a_user()
    await store.add_user(user)
    sessions: list[Session] = [a_session(user) for _ in range(3)]
    for session in sessions:
        await store.add_session(session)
    changed = event("password_changed", user.id, NOW, ADA, session_id=sessions[0].id)
    await store.replace_password(
        user.id, "new", NOW, keep=sessions[0].id, activity=changed, stepped_up=False
    )
    everything = event("logout_all", user.id, NOW, ADA, session_id=sessions[0].id)
    await store.revoke_user_sessions(user.id, NOW, activity=everything)
    page = await store.list_activity(user.id, limit=10)
    assert [(item.type, item.count) for item in page.items] == [
        ("logout_all", 1),
        ("password_changed", 2),
    ]


async def test_a_credential_change_of_no_account_records_nothing(store: Store) -> None:
    ghost = str(uuid.uuid4())
    await store.revoke_user_sessions(ghost, NOW, activity=event("logout_all", ghost, NOW, NO_PEER))
    assert await types_of(store, ghost) == []


@pytest.mark.parametrize(("backend", "extra"), [("sqlite", 2), ("postgresql", 1)])
def test_a_logins_event_costs_one_statement_on_postgresql(
    backend: str, extra: int, tmp_path: Path
) -> None:
    # SQLite has no data-modifying WITH: its trim is a second statement, in the same process.
    async def statements_of_a_login(url: str, with_event: bool) -> int:
        store = SqlStore(url)
        await store.open()
        try:
            user = a_user(f"{uuid.uuid4().hex}@example.com")
            await store.add_user(user)
            session = a_session(user)
            logged_in = event("login_succeeded", user.id, NOW, ADA, session_id=session.id)
            ran: list[str] = []
            engine = store._database.engine.sync_engine
            listen = sqlalchemy.event.listen

            def count(*args: Any) -> None:
                ran.append(args[2])

            listen(engine, "before_cursor_execute", count)
            assert await store.add_session(session, 50, logged_in if with_event else None)
            sqlalchemy.event.remove(engine, "before_cursor_execute", count)
            return len(ran)
        finally:
            await store.close()

    with storage_url(backend, tmp_path) as url:
        without = asyncio.run(statements_of_a_login(url, with_event=False))
        with_event = asyncio.run(statements_of_a_login(url, with_event=True))
    assert with_event - without == extra
