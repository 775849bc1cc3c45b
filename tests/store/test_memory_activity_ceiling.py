"""The memory store's ceiling on all users' activity events together.

Each user's events are capped, but accounts are free: without a ceiling of its own the log
could hold `MAX_ACTIVITY_EVENTS_PER_USER` times `MEMORY_STORE_MAX_USERS` events. Past the
ceiling a new event drops the oldest event of all, in the same step: the log is history,
and the change an event reports is never refused for it.
"""

from __future__ import annotations

import asyncio

from authapi.activity import event
from authapi.records import Activity, Peer
from authapi.store import MemoryStore, open_store
from authapi.store.base import ActivityBounds
from tests.store.test_store import NOW, a_session, a_user

ADA = Peer(address="203.0.113.7", user_agent="Mozilla/5.0")


def succeeded(user_id: str, second: int) -> Activity:
    return event("login_succeeded", user_id, NOW + second, ADA)


async def ids_of(store: MemoryStore, user_id: str) -> list[str]:
    page = await store.list_activity(user_id, limit=100)
    return [item.id for item in page.items]


async def test_an_event_past_the_ceiling_drops_the_oldest_event_of_all_users() -> None:
    store = MemoryStore(max_activity_events=3)
    ada, bob = a_user("ada@example.com"), a_user("bob@example.com")
    oldest, adas_second = succeeded(ada.id, 0), succeeded(ada.id, 2)
    bobs = [succeeded(bob.id, 1), succeeded(bob.id, 3)]
    for recorded in (oldest, bobs[0], adas_second, bobs[1]):
        await store.record_activity(recorded)
    assert await ids_of(store, ada.id) == [adas_second.id]
    assert await ids_of(store, bob.id) == [bobs[1].id, bobs[0].id]
    # The dropped event's id is no cursor any more, like any id that is not the caller's.
    page = await store.list_activity(ada.id, limit=10, after=oldest.id)
    assert page.items == []


async def test_the_ceiling_holds_under_parallel_writes_and_keeps_the_newest() -> None:
    store = MemoryStore(max_activity_events=5)
    users = [a_user(f"user{number}@example.com") for number in range(10)]
    events = [succeeded(user.id, number) for number, user in enumerate(users)]
    await asyncio.gather(*(store.record_activity(recorded) for recorded in events))
    kept = [item for user in users for item in await ids_of(store, user.id)]
    assert len(kept) == 5
    assert sorted(kept) == sorted(recorded.id for recorded in events[5:])


async def test_a_change_at_the_ceiling_is_made_and_its_event_kept() -> None:
    # A login is never refused because its report has no room: the oldest event goes.
    store = MemoryStore(max_activity_events=1)
    ada, bob = a_user("ada@example.com"), a_user("bob@example.com")
    await store.add_user(ada)
    await store.add_user(bob)
    await store.record_activity(succeeded(bob.id, 0))
    reported = succeeded(ada.id, 1)
    assert await store.add_session(a_session(ada), 10, reported)
    assert await ids_of(store, ada.id) == [reported.id]
    assert await ids_of(store, bob.id) == []


async def test_a_merge_at_the_ceiling_drops_nothing() -> None:
    store = MemoryStore(max_activity_events=2)
    ada, bob = a_user("ada@example.com"), a_user("bob@example.com")
    await store.record_activity(succeeded(bob.id, 0))
    await store.record_activity(event("login_failed", ada.id, NOW, ADA, reason="wrong_password"))
    await store.record_activity(event("login_failed", ada.id, NOW, ADA, reason="wrong_password"))
    assert len(await ids_of(store, bob.id)) == 1
    page = await store.list_activity(ada.id, limit=10)
    assert [item.count for item in page.items] == [2]


async def test_the_per_user_bound_and_the_ceiling_apply_together() -> None:
    store = MemoryStore(
        activity=ActivityBounds(max_per_user=2, retention_seconds=86400), max_activity_events=3
    )
    ada, bob = a_user("ada@example.com"), a_user("bob@example.com")
    adas = [succeeded(ada.id, second) for second in range(3)]
    for recorded in adas:
        await store.record_activity(recorded)
    assert await ids_of(store, ada.id) == [adas[2].id, adas[1].id]
    bobs = [succeeded(bob.id, 10 + second) for second in range(2)]
    for recorded in bobs:
        await store.record_activity(recorded)
    assert await ids_of(store, ada.id) == [adas[2].id]
    assert await ids_of(store, bob.id) == [bobs[1].id, bobs[0].id]


async def test_open_store_hands_the_ceiling_to_the_memory_store() -> None:
    store = open_store("memory://", max_activity_events=1)
    assert isinstance(store, MemoryStore)
    ada = a_user()
    first, second = succeeded(ada.id, 0), succeeded(ada.id, 1)
    await store.record_activity(first)
    await store.record_activity(second)
    assert await ids_of(store, ada.id) == [second.id]
