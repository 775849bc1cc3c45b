"""What only the memory store promises: per-user cost, and counters bounded by time and a cap.

The cost tests compare the same operation on a store holding only the user's own records with
one that also holds many other users' (or many counters): the ratio, not a time, is asserted,
so a slow machine does not fail them. Each timing is the best of a few rounds of this thread's
CPU time, which other processes and other tests running meanwhile do not add to.
"""

from __future__ import annotations

import dataclasses
import itertools
import time
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import pytest

from authapi.records import Session
from authapi.store import MemoryStore
from tests.store.test_store import NOW, a_task, a_user

CROWD = 20_000
# A scan of the crowd costs hundreds of times more than the user's own records; log n, not.
MAX_RATIO = 8


async def best_of(rounds: int, operation: Callable[[], Awaitable[object]], repeat: int) -> float:
    best = float("inf")
    for _ in range(rounds):
        started = time.thread_time()
        for _ in range(repeat):
            await operation()
        best = min(best, time.thread_time() - started)
    return best


_ids = itertools.count()


def a_session(user_id: str, expires_at: int = NOW + 3600) -> Session:
    return Session(f"s{next(_ids)}", user_id, NOW, expires_at, "h")


async def crowded_store(sessions: bool = True, tasks: bool = False) -> MemoryStore:
    store = MemoryStore()
    template = a_user()
    crowd_task = a_task(template)
    for number in range(CROWD):
        user = dataclasses.replace(template, id=f"u{number}", email=f"u{number}@example.com")
        await store.add_user(user)
        if sessions:
            await store.add_session(a_session(user.id))
        if tasks:
            await store.add_task(dataclasses.replace(crowd_task, id=f"t{number}", user_id=user.id))
    return store


async def test_a_users_session_operations_cost_the_same_among_many_other_users() -> None:
    timings = []
    for store in (MemoryStore(), await crowded_store()):
        user = a_user("ada@example.com")
        await store.add_user(user)
        for _ in range(5):
            await store.add_session(a_session(user.id), max_sessions=10)

        async def operations(store: MemoryStore = store, user_id: str = user.id) -> None:
            await store.list_sessions(user_id, NOW)
            await store.add_session(a_session(user_id), max_sessions=5)
            await store.count_live_sessions(NOW)

        timings.append(await best_of(3, operations, repeat=200))
    alone, crowded = timings
    assert crowded < alone * MAX_RATIO, (alone, crowded)


async def test_a_users_task_operations_cost_the_same_among_many_other_users() -> None:
    timings = []
    for store in (MemoryStore(), await crowded_store(sessions=False, tasks=True)):
        user = a_user("ada@example.com")
        await store.add_user(user)
        for number in range(20):
            await store.add_task(a_task(user, at=number))

        async def operations(store: MemoryStore = store, user_id: str = user.id) -> None:
            page = await store.list_tasks(user_id, limit=5)
            last = page.items[-1]
            await store.list_tasks(user_id, limit=5, before=(last.created_at, last.id))

        timings.append(await best_of(3, operations, repeat=200))
    alone, crowded = timings
    assert crowded < alone * MAX_RATIO, (alone, crowded)


async def test_a_hit_costs_the_same_with_many_live_counters() -> None:
    timings = []
    for live in (0, CROWD):
        store = MemoryStore()
        for number in range(live):
            await store.hit(f"other-{number}", 60, NOW)
        keys = iter(range(10**9))

        async def hit(store: MemoryStore = store, keys: Iterator[int] = keys) -> None:
            await store.hit(f"new-{next(keys)}", 60, NOW)

        timings.append(await best_of(3, hit, repeat=500))
    few, many = timings
    assert many < few * MAX_RATIO, (few, many)


async def test_counters_past_the_cap_evict_the_one_that_ends_soonest() -> None:
    store = MemoryStore(max_counters=3)
    for number, window in enumerate((30, 10, 20)):
        await store.hit(f"k{number}", window, NOW)
    await store.hit("newcomer", 60, NOW)
    remaining = {key: (await store.peek(key, 60, NOW)).count for key in ("k0", "k1", "k2")}
    assert remaining == {"k0": 1, "k1": 0, "k2": 1}
    assert (await store.peek("newcomer", 60, NOW)).count == 1
    # A key already counted is counted on, never evicted to make room for itself.
    assert (await store.hit("newcomer", 60, NOW + 1)).count == 2


async def test_counters_expire_by_time_as_hits_go_on_without_a_purge() -> None:
    store = MemoryStore()
    for number in range(1000):
        await store.hit(f"ended-{number}", 60, NOW)
    for number in range(600):
        await store.hit(f"later-{number}", 60, NOW + 60)
    assert len(store._hits) == 600  # each hit drops two ended counters


async def test_count_of_live_sessions_skips_expired_ones_not_yet_purged() -> None:
    store = MemoryStore()
    user = a_user()
    await store.add_user(user)
    for offset in range(10):
        await store.add_session(a_session(user.id, expires_at=NOW + 1 + offset))
    assert [await store.count_live_sessions(NOW + t) for t in (0, 5, 9, 10)] == [10, 5, 1, 0]
    await store.purge(NOW + 5, batch=100)
    assert [await store.count_live_sessions(NOW + t) for t in (0, 5, 9, 10)] == [5, 5, 1, 0]


async def test_a_revoked_and_purged_session_leaves_nothing_behind() -> None:
    # A revoked session used to keep its entry in the expiry heap until it would have
    # expired: at a steady churn of logouts, memory grew for a whole refresh lifetime.
    store = MemoryStore()
    user = a_user()
    await store.add_user(user)
    kept = a_session(user.id, expires_at=NOW + 86_400)
    await store.add_session(kept)
    for _ in range(1000):
        session = a_session(user.id, expires_at=NOW + 86_400)
        await store.add_session(session)
        await store.revoke_session(session.id, NOW)
    await store.purge(NOW, 10_000)
    assert list(store._sessions) == [kept.id]
    assert store._expiring == {NOW + 86_400: {kept.id: None}}
    assert len(store._expiry_seconds) == 1
    assert await store.count_live_sessions(NOW) == 1
    assert await store.count_live_sessions(NOW + 86_400) == 0
    await store.purge(NOW + 86_400, 10_000)
    assert store._sessions == {} and store._expiring == {} and store._expiry_seconds == []
    assert store._live_ids_by_user == {}


class CountedSessions(dict[str, Session]):
    """The store's sessions by id, counting every session looked up."""

    looked_up = 0

    def __getitem__(self, session_id: str) -> Session:
        self.looked_up += 1
        return super().__getitem__(session_id)

    def get(self, session_id: str, default: Any = None) -> Any:
        self.looked_up += 1
        return super().get(session_id, default)


# A client's logins past the cap or followed by a logout: their sessions stay stored, revoked,
# until the purge.
ENDED = 5_000
CAP = 10


@pytest.mark.parametrize(
    "operation",
    [
        pytest.param(lambda s, u: s.add_session(a_session(u), max_sessions=CAP), id="login"),
        pytest.param(lambda s, u: s.list_sessions(u, NOW), id="listing"),
        pytest.param(lambda s, u: s.revoke_user_sessions(u, NOW), id="logout-all"),
        pytest.param(
            lambda s, u: s.replace_password(u, "new", NOW, stepped_up=False), id="password-change"
        ),
        pytest.param(lambda s, u: s.get_session_and_user(f"s{ENDED}"), id="revocation-check"),
        pytest.param(lambda s, u: s.rotate_refresh(f"s{ENDED}", "h", "h2", NOW), id="refresh"),
    ],
)
async def test_a_users_ended_sessions_add_nothing_to_what_her_next_request_looks_at(
    operation: Callable[[MemoryStore, str], Awaitable[object]],
) -> None:
    store = MemoryStore()
    user = a_user()
    await store.add_user(user)
    for number in range(ENDED + CAP):
        session = Session(f"s{number}", user.id, NOW, NOW + 3600, "h")
        await store.add_session(session, max_sessions=CAP)
        if number % 2 and number < ENDED:
            await store.revoke_session(session.id, NOW)
    assert len(await store.list_sessions(user.id, NOW)) == CAP
    store._sessions = counted = CountedSessions(store._sessions)
    await operation(store, user.id)
    # Her live sessions (a login's new one among them), or the one session the request names.
    assert counted.looked_up <= CAP + 1, counted.looked_up
