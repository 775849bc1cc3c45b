"""The store contract, the same on every backend."""

from __future__ import annotations

import asyncio
import dataclasses
import uuid
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from authapi.errors import EmailTaken
from authapi.records import Hits, Session, Task, User
from authapi.store import MemoryStore, Store
from authapi.store.base import KNOWN_ADDRESS_RETENTION_SECONDS
from authapi.store.schema import known_addresses
from authapi.store.sql import SqlStore

NOW = 1_800_000_000


def a_user(email: str = "ada@example.com") -> User:
    return User(
        id=str(uuid.uuid4()),
        email=email,
        password_hash="$2b$04$hash",
        created_at=datetime.fromtimestamp(NOW, UTC),
    )


def a_session(user: User, refresh_hash: str = "h0", expires_at: int = NOW + 3600) -> Session:
    return Session(
        id=str(uuid.uuid4()),
        user_id=user.id,
        created_at=NOW,
        expires_at=expires_at,
        refresh_hash=refresh_hash,
    )


async def test_user_is_found_by_id_and_by_email(store: Store) -> None:
    user = a_user()
    await store.add_user(user)
    assert await store.get_user(user.id) == user
    assert await store.get_user_by_email("ada@example.com") == user
    assert await store.get_user_by_email("bob@example.com") is None
    assert await store.get_user(str(uuid.uuid4())) is None


async def test_second_user_with_the_same_email_is_refused(store: Store) -> None:
    first = a_user()
    await store.add_user(first)
    with pytest.raises(EmailTaken):
        await store.add_user(a_user())
    assert await store.get_user_by_email("ada@example.com") == first


async def test_concurrent_registrations_of_one_email_store_exactly_one(store: Store) -> None:
    results = await asyncio.gather(
        *(store.add_user(a_user()) for _ in range(20)), return_exceptions=True
    )
    assert sum(result is None for result in results) == 1
    assert all(isinstance(r, EmailTaken) for r in results if r is not None)


async def test_session_is_stored_and_read_back(store: Store) -> None:
    user = a_user()
    await store.add_user(user)
    session = a_session(user)
    await store.add_session(session)
    assert await store.get_session(session.id) == session
    assert await store.get_session(str(uuid.uuid4())) is None


async def test_session_is_read_with_its_user_in_one_lookup(store: Store) -> None:
    user, other = a_user(), a_user("bob@example.com")
    await store.add_user(user)
    await store.add_user(other)
    session = a_session(user)
    await store.add_session(session)
    await store.add_session(a_session(other))
    await store.revoke_session(session.id, NOW + 1)
    revoked = dataclasses.replace(session, revoked_at=NOW + 1)
    assert await store.get_session_and_user(session.id) == (revoked, user)
    assert await store.get_session_and_user(str(uuid.uuid4())) is None


async def test_rotation_swaps_the_hash_and_remembers_the_previous_one(store: Store) -> None:
    user = a_user()
    await store.add_user(user)
    session = a_session(user)
    await store.add_session(session)
    assert await store.rotate_refresh(session.id, "h0", "h1", NOW + 5)
    rotated = await store.get_session(session.id)
    assert rotated is not None
    assert (rotated.refresh_hash, rotated.previous_refresh_hash, rotated.rotated_at) == (
        "h1",
        "h0",
        NOW + 5,
    )


async def test_rotation_with_a_stale_hash_changes_nothing(store: Store) -> None:
    user = a_user()
    await store.add_user(user)
    session = a_session(user)
    await store.add_session(session)
    assert await store.rotate_refresh(session.id, "h0", "h1", NOW + 1)
    assert not await store.rotate_refresh(session.id, "h0", "h2", NOW + 2)
    current = await store.get_session(session.id)
    assert current is not None and current.refresh_hash == "h1"


async def test_concurrent_rotations_of_one_hash_let_exactly_one_win(store: Store) -> None:
    user = a_user()
    await store.add_user(user)
    session = a_session(user)
    await store.add_session(session)
    results = await asyncio.gather(
        *(store.rotate_refresh(session.id, "h0", f"new-{i}", NOW + 1) for i in range(20))
    )
    assert results.count(True) == 1


async def test_revoked_or_expired_session_cannot_rotate(store: Store) -> None:
    user = a_user()
    await store.add_user(user)
    revoked, expired = a_session(user), a_session(user, expires_at=NOW)
    await store.add_session(revoked)
    await store.add_session(expired)
    await store.revoke_session(revoked.id, NOW)
    assert not await store.rotate_refresh(revoked.id, "h0", "h1", NOW + 1)
    assert not await store.rotate_refresh(expired.id, "h0", "h1", NOW + 1)


async def test_revoking_twice_keeps_the_first_time(store: Store) -> None:
    user = a_user()
    await store.add_user(user)
    session = a_session(user)
    await store.add_session(session)
    await store.revoke_session(session.id, NOW + 1)
    await store.revoke_session(session.id, NOW + 9)
    revoked = await store.get_session(session.id)
    assert revoked is not None and revoked.revoked_at == NOW + 1
    assert not revoked.is_live(NOW + 2)


async def test_revoking_an_unknown_session_is_harmless(store: Store) -> None:
    await store.revoke_session(str(uuid.uuid4()), NOW)


def a_task(user: User, title: str = "Buy milk", *, at: int = 0, completed: bool = False) -> Task:
    moment = datetime.fromtimestamp(NOW + at, UTC)
    return Task(
        id=str(uuid.uuid4()),
        user_id=user.id,
        title=title,
        description=None,
        completed=completed,
        created_at=moment,
        updated_at=moment,
    )


async def test_task_is_visible_to_its_owner_only(store: Store) -> None:
    ada, bob = a_user("ada@example.com"), a_user("bob@example.com")
    await store.add_user(ada)
    await store.add_user(bob)
    task = a_task(ada)
    await store.add_task(task)
    assert await store.get_task(ada.id, task.id) == task
    assert await store.get_task(bob.id, task.id) is None
    assert not await store.update_task(dataclasses.replace(task, user_id=bob.id, title="mine"))
    assert not await store.delete_task(bob.id, task.id)
    assert await store.get_task(ada.id, task.id) == task


async def test_tasks_are_listed_newest_first_in_keyset_pages(store: Store) -> None:
    ada = a_user()
    await store.add_user(ada)
    tasks = [a_task(ada, f"t{i}", at=i) for i in range(5)]
    for task in tasks:
        await store.add_task(task)
    first = await store.list_tasks(ada.id, limit=2)
    assert [t.title for t in first.items] == ["t4", "t3"] and first.more
    last = first.items[-1]
    second = await store.list_tasks(ada.id, limit=2, before=(last.created_at, last.id))
    assert [t.title for t in second.items] == ["t2", "t1"] and second.more
    last = second.items[-1]
    third = await store.list_tasks(ada.id, limit=2, before=(last.created_at, last.id))
    assert [t.title for t in third.items] == ["t0"] and not third.more


async def test_tasks_created_in_the_same_instant_are_all_listed(store: Store) -> None:
    ada = a_user()
    await store.add_user(ada)
    for i in range(4):
        await store.add_task(a_task(ada, f"t{i}", at=0))
    seen: list[str] = []
    before = None
    while True:
        page = await store.list_tasks(ada.id, limit=1, before=before)
        seen += [t.id for t in page.items]
        if not page.more:
            break
        before = (page.items[-1].created_at, page.items[-1].id)
    assert len(set(seen)) == 4


async def test_tasks_are_filtered_by_completion(store: Store) -> None:
    ada = a_user()
    await store.add_user(ada)
    done, todo = a_task(ada, "done", completed=True), a_task(ada, "todo", at=1)
    await store.add_task(done)
    await store.add_task(todo)
    assert [t.title for t in (await store.list_tasks(ada.id, limit=9, completed=True)).items] == [
        "done"
    ]
    assert [t.title for t in (await store.list_tasks(ada.id, limit=9, completed=False)).items] == [
        "todo"
    ]


async def test_task_update_and_delete(store: Store) -> None:
    ada = a_user()
    await store.add_user(ada)
    task = a_task(ada)
    await store.add_task(task)
    changed = dataclasses.replace(task, title="Buy bread", completed=True, description="rye")
    assert await store.update_task(changed)
    assert await store.get_task(ada.id, task.id) == changed
    assert await store.delete_task(ada.id, task.id)
    assert await store.get_task(ada.id, task.id) is None
    assert not await store.delete_task(ada.id, task.id)


async def test_store_answers_a_ping(store: Store) -> None:
    await store.ping()


async def test_password_hash_is_swapped_only_while_it_is_the_expected_one(store: Store) -> None:
    user = a_user()
    await store.add_user(user)
    assert await store.set_password_hash(user.id, user.password_hash, "$2b$05$new")
    # A rehash of the old password arriving after a change must not write it back.
    assert not await store.set_password_hash(user.id, user.password_hash, "$2b$06$old-again")
    stored = await store.get_user(user.id)
    assert stored is not None and stored.password_hash == "$2b$05$new"
    assert stored.credential_version == user.credential_version


async def test_live_sessions_are_listed_newest_first(store: Store) -> None:
    user, other = a_user(), a_user("bob@example.com")
    await store.add_user(user)
    await store.add_user(other)
    old = dataclasses.replace(
        a_session(user), created_at=NOW - 10, user_agent="curl", client_ip="::1"
    )
    new, revoked, theirs = a_session(user), a_session(user), a_session(other)
    for session in (old, new, revoked, theirs):
        await store.add_session(session)
    await store.revoke_session(revoked.id, NOW)
    listed = await store.list_sessions(user.id, NOW + 1)
    assert [s.id for s in listed] == [new.id, old.id]
    assert (listed[1].user_agent, listed[1].client_ip) == ("curl", "::1")


async def test_revoking_all_sessions_can_keep_one(store: Store) -> None:
    user, other = a_user(), a_user("bob@example.com")
    await store.add_user(user)
    await store.add_user(other)
    keep, drop1, drop2, theirs = a_session(user), a_session(user), a_session(user), a_session(other)
    for session in (keep, drop1, drop2, theirs):
        await store.add_session(session)
    assert await store.revoke_user_sessions(user.id, NOW, keep=keep.id) == 2
    assert [s.id for s in await store.list_sessions(user.id, NOW)] == [keep.id]
    assert len(await store.list_sessions(other.id, NOW)) == 1
    assert await store.revoke_user_sessions(user.id, NOW) == 1


async def test_hits_count_within_a_window_and_restart_after_it(store: Store) -> None:
    assert (await store.peek("k", 60, NOW)).count == 0
    assert [(await store.hit("k", 60, NOW + i)).count for i in range(3)] == [1, 2, 3]
    assert await store.peek("k", 60, NOW + 59) == (await store.peek("k", 60, NOW))
    assert (await store.peek("k", 60, NOW)).resets_at == NOW + 60
    assert (await store.peek("k", 60, NOW + 60)).count == 0
    assert await store.hit("k", 60, NOW + 60) == Hits(1, NOW + 120)


async def test_concurrent_hits_are_all_counted(store: Store) -> None:
    await asyncio.gather(*(store.hit("k", 60, NOW) for _ in range(25)))
    assert (await store.peek("k", 60, NOW)).count == 25


async def test_known_addresses_are_remembered_per_user_and_address(store: Store) -> None:
    ada, bob = a_user(), a_user("bob@example.com")
    await store.add_user(ada)
    await store.add_user(bob)
    assert not await store.is_known_address(ada.id, "addr:one")
    await store.remember_address(ada.id, "addr:one", NOW)
    assert await store.is_known_address(ada.id, "addr:one")
    assert not await store.is_known_address(ada.id, "addr:two")
    assert not await store.is_known_address(bob.id, "addr:one")
    assert not await store.is_known_address("", "addr:one")


async def test_remembering_a_known_address_again_moves_its_last_seen_on(store: Store) -> None:
    user = a_user()
    await store.add_user(user)
    await store.remember_address(user.id, "addr:one", NOW)
    # Logins racing from one address must all succeed: the write is an upsert.
    await asyncio.gather(*(store.remember_address(user.id, "addr:one", NOW + 5) for _ in range(10)))
    assert await store.is_known_address(user.id, "addr:one")
    assert await last_seen(store, user.id, "addr:one") == NOW + 5


async def last_seen(store: Store, user_id: str, address_key: str) -> int:
    """Read `last_seen` straight from the backend: the purge of stale addresses relies on it."""
    if isinstance(store, MemoryStore):
        return store._known_addresses[user_id, address_key]
    assert isinstance(store, SqlStore)
    query = select(known_addresses.c.last_seen).where(
        known_addresses.c.user_id == user_id, known_addresses.c.address_key == address_key
    )
    async with store._database.engine.connect() as connection:
        return int((await connection.execute(query)).scalar_one())


async def test_replacing_the_password_bumps_the_version_and_keeps_only_the_callers_session(
    store: Store,
) -> None:
    user, other = a_user(), a_user("bob@example.com")
    await store.add_user(user)
    await store.add_user(other)
    mine, stolen, theirs = a_session(user), a_session(user), a_session(other)
    for session in (mine, stolen, theirs):
        await store.add_session(session)
    changed = await store.replace_password(
        user.id, "$2b$05$new", NOW + 1, keep=mine.id, stepped_up=False
    )
    assert changed == ("changed", 1)
    stored = await store.get_user(user.id)
    assert stored is not None
    assert (stored.password_hash, stored.credential_version) == ("$2b$05$new", 1)
    kept = await store.get_session(mine.id)
    assert kept is not None and kept.revoked_at is None and kept.credential_version == 1
    revoked = await store.get_session(stolen.id)
    assert revoked is not None and revoked.revoked_at == NOW + 1
    assert [s.id for s in await store.list_sessions(user.id, NOW + 2)] == [mine.id]
    assert [s.id for s in await store.list_sessions(other.id, NOW + 2)] == [theirs.id]


async def test_revoking_all_sessions_bumps_the_credential_version(store: Store) -> None:
    user = a_user()
    await store.add_user(user)
    await store.add_session(a_session(user))
    assert await store.revoke_user_sessions(user.id, NOW) == 1
    stored = await store.get_user(user.id)
    assert stored is not None and stored.credential_version == 1
    assert await store.revoke_user_sessions(user.id, NOW) == 0
    stored = await store.get_user(user.id)
    assert stored is not None and stored.credential_version == 2


async def test_a_session_begun_under_an_older_credential_version_is_not_stored(
    store: Store,
) -> None:
    user = a_user()
    await store.add_user(user)
    await store.revoke_user_sessions(user.id, NOW)
    late = a_session(user)  # read the user (version 0) before the logout-all
    assert not await store.add_session(late)
    assert await store.get_session(late.id) is None
    current = dataclasses.replace(a_session(user), credential_version=1)
    assert await store.add_session(current)
    assert await store.count_live_sessions(NOW) == 1


async def test_a_login_past_the_cap_ends_the_oldest_live_sessions(store: Store) -> None:
    user, other = a_user(), a_user("bob@example.com")
    await store.add_user(user)
    await store.add_user(other)
    theirs = a_session(other)
    await store.add_session(theirs)
    sessions = [dataclasses.replace(a_session(user), created_at=NOW + i) for i in range(5)]
    for session in sessions:
        assert await store.add_session(session, max_sessions=3)
    live = await store.list_sessions(user.id, NOW + 10)
    assert [s.id for s in live] == [s.id for s in reversed(sessions[2:])]
    oldest = await store.get_session(sessions[0].id)
    # Ended by the login that took it past the cap: the fourth one.
    assert oldest is not None and oldest.revoked_at == NOW + 3
    assert len(await store.list_sessions(other.id, NOW + 10)) == 1


async def test_the_cap_never_ends_the_new_session_even_when_created_at_ties(
    store: Store,
) -> None:
    user = a_user()
    await store.add_user(user)
    for _ in range(6):
        new = a_session(user)  # all created at NOW: only ids tell them apart
        assert await store.add_session(new, max_sessions=2)
        assert new.id in [s.id for s in await store.list_sessions(user.id, NOW)]
    assert len(await store.list_sessions(user.id, NOW)) == 2


async def test_concurrent_logins_past_the_cap_leave_exactly_the_cap_live(store: Store) -> None:
    user = a_user()
    await store.add_user(user)
    await asyncio.gather(*(store.add_session(a_session(user), max_sessions=4) for _ in range(20)))
    assert len(await store.list_sessions(user.id, NOW)) == 4


async def test_the_cap_counts_neither_logged_out_nor_expired_sessions(store: Store) -> None:
    user = a_user()
    await store.add_user(user)
    expired = a_session(user, expires_at=NOW + 1)
    older, old, logged_out = (a_session(user) for _ in range(3))
    for session in (expired, older, old, logged_out):
        assert await store.add_session(session)
    await store.revoke_session(logged_out.id, NOW)
    later = [dataclasses.replace(a_session(user), created_at=NOW + 2) for _ in range(2)]
    # The first finds two live others, within the cap; the second ends the oldest live one.
    for session in later:
        assert await store.add_session(session, max_sessions=3)
    live = await store.list_sessions(user.id, NOW + 2)
    assert [s.id for s in live] == [later[1].id, later[0].id, old.id]
    ended = {s.id: await store.get_session(s.id) for s in (expired, older, logged_out)}
    assert {i: s and s.revoked_at for i, s in ended.items()} == {
        expired.id: None,
        older.id: NOW + 2,
        logged_out.id: NOW,
    }


async def test_tasks_past_the_cap_are_refused_and_nothing_stored_is_lost(store: Store) -> None:
    ada, bob = a_user(), a_user("bob@example.com")
    await store.add_user(ada)
    await store.add_user(bob)
    kept = [a_task(ada, f"t{i}", at=i) for i in range(3)]
    for task in kept:
        assert await store.add_task(task, max_tasks=3)
    refused = a_task(ada, "one too many", at=9)
    assert not await store.add_task(refused, max_tasks=3)
    assert await store.get_task(ada.id, refused.id) is None
    assert (await store.list_tasks(ada.id, limit=9)).items == kept[::-1]
    assert await store.add_task(a_task(bob), max_tasks=3)  # the cap is per user
    assert await store.delete_task(ada.id, kept[0].id)
    assert await store.add_task(refused, max_tasks=3)


async def test_concurrent_tasks_past_the_cap_store_exactly_the_cap(store: Store) -> None:
    ada = a_user()
    await store.add_user(ada)
    results = await asyncio.gather(
        *(store.add_task(a_task(ada, f"t{i}"), max_tasks=5) for i in range(20))
    )
    assert results.count(True) == 5
    assert len((await store.list_tasks(ada.id, limit=50)).items) == 5


async def test_purge_deletes_ended_sessions_and_counters_and_keeps_the_rest(store: Store) -> None:
    user = a_user()
    await store.add_user(user)
    live, expired, revoked = (
        a_session(user),
        a_session(user, expires_at=NOW + 10),
        a_session(user),
    )
    for session in (live, expired, revoked):
        await store.add_session(session)
    await store.revoke_session(revoked.id, NOW + 1)
    await store.hit("running", 60, NOW - 30)
    await store.hit("ended", 60, NOW - 60)
    assert await store.purge(NOW + 10, batch=100) == 3
    assert await store.get_session(live.id) == live
    assert await store.get_session(expired.id) is None
    assert await store.get_session(revoked.id) is None
    assert (await store.peek("running", 60, NOW + 10)).count == 1
    assert (await store.peek("ended", 60, NOW - 1)).count == 0
    assert await store.count_live_sessions(NOW + 10) == 1
    assert await store.purge(NOW + 10, batch=100) == 0


async def test_purge_deletes_at_most_a_batch_of_each_kind_per_call(store: Store) -> None:
    user = a_user()
    await store.add_user(user)
    for _ in range(5):
        await store.add_session(a_session(user, expires_at=NOW))
    for i in range(5):
        await store.hit(f"k{i}", 60, NOW - 60)
    assert await store.purge(NOW, batch=2) == 4
    assert await store.purge(NOW, batch=2) == 4
    assert await store.purge(NOW, batch=2) == 2
    assert await store.purge(NOW, batch=2) == 0


async def test_a_counter_renewed_after_its_window_ended_survives_the_purge(store: Store) -> None:
    await store.hit("k", 60, NOW - 60)
    await store.hit("k", 60, NOW)  # a new window
    await store.purge(NOW, batch=10)
    assert (await store.peek("k", 60, NOW)).count == 1


async def test_live_sessions_are_counted_until_they_expire_or_are_revoked(store: Store) -> None:
    user = a_user()
    await store.add_user(user)
    short, long, revoked = (
        a_session(user, expires_at=NOW + 10),
        a_session(user, expires_at=NOW + 100),
        a_session(user),
    )
    for session in (short, long, revoked):
        await store.add_session(session)
    assert await store.count_live_sessions(NOW) == 3
    await store.revoke_session(revoked.id, NOW)
    assert await store.count_live_sessions(NOW) == 2
    assert await store.count_live_sessions(NOW + 10) == 1
    assert await store.count_live_sessions(NOW + 100) == 0


async def test_purge_forgets_addresses_unseen_for_the_retention_period_only(store: Store) -> None:
    user = a_user()
    await store.add_user(user)
    long_ago = NOW - KNOWN_ADDRESS_RETENTION_SECONDS - 1
    await store.remember_address(user.id, "addr:stale", long_ago)
    await store.remember_address(user.id, "addr:back-again", long_ago)
    await store.remember_address(user.id, "addr:fresh", NOW)
    # Seen again since: it is as fresh as its last login, whatever its first one.
    await store.remember_address(user.id, "addr:back-again", NOW)
    await store.purge(NOW, 1000)
    assert not await store.is_known_address(user.id, "addr:stale")
    assert await store.is_known_address(user.id, "addr:back-again")
    assert await store.is_known_address(user.id, "addr:fresh")
