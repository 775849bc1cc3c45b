"""A password change racing the first second factor or the end of its session, on every store.

A password change reads whether the user has a second factor (the handler's step-up check),
then hashes for tens of milliseconds, then replaces the password. Her first TOTP factor
confirmed, or her first passkey added, in another session meanwhile must not let a
single-factor session change the password; nor may a session that a logout, a logout-all or
that confirmation (which ends every other session) ended meanwhile. The store's change
refuses both, in its own step. The race is run through the use case with the change landing
just before the store's step (LandsBeforeTheChange): the window the hashing leaves, forced on
every run and every backend, since on the memory store nothing yields inside it.
"""

from __future__ import annotations

import asyncio
import dataclasses
import uuid
from collections.abc import Awaitable, Callable
from typing import Any, cast

import pytest
from sqlalchemy import text, update

from authapi.activity import event
from authapi.errors import InvalidToken, StepUpRequired
from authapi.passkeys import MAX_PASSKEYS
from authapi.records import NO_PEER, WITH_TOTP, PasswordOutcome, Session, User
from authapi.store import Store
from authapi.store.schema import sessions
from authapi.store.sql import SqlStore
from tests.api_moves import PASSWORD
from tests.store.test_mfa_races import CAP, caller_of, services_on, user_in
from tests.store.test_mfa_store import NOW, SINCE, a_factor, a_session, verified_factor
from tests.store.test_passkey_store import a_passkey

NEW_PASSWORD = "a brand new passphrase"
NEW_HASH = "$2b$04$new"


class LandsBeforeTheChange:
    """A store on which a change of the user's commits just before a password change's step.

    That is the window the hashing leaves open between the step-up check and the change.
    """

    def __init__(self, store: Store, change: Callable[[], Awaitable[bool]]) -> None:
        self._store = store
        self._change = change
        self.reached = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)

    async def replace_password(self, *args: Any, **kwargs: Any) -> tuple[PasswordOutcome, int]:
        self.reached += 1
        assert await self._change()
        return await self._store.replace_password(*args, **kwargs)


async def registered(store: Store) -> User:
    """Return a user with PASSWORD, registered through the use case as the app does."""
    return await services_on(store).accounts.register(f"{uuid.uuid4().hex}@example.com", PASSWORD)


async def with_session(store: Store, user: User) -> Session:
    session = a_session(user)
    assert await store.add_session(session)
    return session


async def racing(store: Store, change: str) -> tuple[User, Session, Session, LandsBeforeTheChange]:
    """Return a user, her session and another of hers, and her store where `change` lands."""
    user = await registered(store)
    mine, other = await with_session(store, user), await with_session(store, user)
    first = a_factor(user)
    assert await store.add_factor(first, CAP, SINCE, stepped_up=False) == "added"

    async def confirmation_elsewhere() -> bool:
        # Confirmed in her other session: every session but that one ends, hers included.
        return await store.confirm_factor(user.id, first.id, 100, NOW, SINCE, other.id)

    async def confirmation_in_her_session() -> bool:
        # Confirmed in another tab of the same session, which lives on at aal1.
        return await store.confirm_factor(user.id, first.id, 100, NOW, SINCE, mine.id)

    async def passkey() -> bool:
        added = await store.add_passkey(a_passkey(user), MAX_PASSKEYS, stepped_up=False)
        return added == "added"

    async def logout() -> bool:
        await store.revoke_session(mine.id, NOW)
        return True

    async def logout_all() -> bool:
        await store.revoke_user_sessions(user.id, NOW)
        return True

    changes = {
        "confirmation elsewhere": confirmation_elsewhere,
        "confirmation in her session": confirmation_in_her_session,
        "passkey": passkey,
        "logout": logout,
        "logout-all": logout_all,
    }
    return user, mine, other, LandsBeforeTheChange(store, changes[change])


async def password_hash_of(store: Store, user: User) -> str:
    stored = await store.get_user(user.id)
    assert stored is not None
    return stored.password_hash


@pytest.mark.parametrize(
    ("change", "answer"),
    [
        ("passkey", StepUpRequired),
        ("confirmation in her session", StepUpRequired),
        ("confirmation elsewhere", InvalidToken),
        ("logout", InvalidToken),
        ("logout-all", InvalidToken),
    ],
)
async def test_a_password_change_racing_a_first_second_factor_or_its_sessions_end_changes_nothing(
    store: Store, change: str, answer: type[Exception]
) -> None:
    user, mine, _, changed = await racing(store, change)
    before = await password_hash_of(store, user)
    accounts = services_on(changed).accounts
    with pytest.raises(answer):
        await accounts.change_password(caller_of(user, mine), PASSWORD, NEW_PASSWORD, NO_PEER)
    # The store's step refused it, not a read before it.
    assert changed.reached == 1
    assert await password_hash_of(store, user) == before
    page = await store.list_activity(user.id, limit=10)
    assert "password_changed" not in [item.type for item in page.items]


@pytest.mark.parametrize("change", ["passkey", "confirmation in her session"])
async def test_a_stepped_up_password_change_lands_after_the_first_second_factor(
    store: Store, change: str
) -> None:
    user, mine, other, changed = await racing(store, change)
    stepped_up = dataclasses.replace(mine, acr="aal2", amr=WITH_TOTP)
    accounts = services_on(changed).accounts
    device_token = await accounts.change_password(
        caller_of(user, stepped_up), PASSWORD, NEW_PASSWORD, NO_PEER
    )
    assert device_token
    assert await password_hash_of(store, user) != user.password_hash
    page = await store.list_activity(user.id, limit=10, type="password_changed")
    assert len(page.items) == 1
    kept, ended = await store.get_session(mine.id), await store.get_session(other.id)
    assert kept is not None and kept.revoked_at is None
    assert ended is not None and ended.revoked_at is not None


async def test_a_password_change_of_a_user_without_a_second_factor_ends_her_other_sessions(
    store: Store,
) -> None:
    user = await registered(store)
    mine, other = await with_session(store, user), await with_session(store, user)
    accounts = services_on(store).accounts
    device_token = await accounts.change_password(
        caller_of(user, mine), PASSWORD, NEW_PASSWORD, NO_PEER
    )
    assert device_token
    await services_on(store).accounts.login(user.email, NEW_PASSWORD)
    ended = await store.get_session(other.id)
    assert ended is not None and ended.revoked_at == NOW
    page = await store.list_activity(user.id, limit=10, type="password_changed")
    assert [item.count for item in page.items] == [1]


async def ended(store: Store, user: User, how: str, live: Session) -> str:
    """Return the id of a session of `how` that a password change cannot keep, but `live`."""
    if how == "unknown":
        return "no-such-session"
    if how == "another user's":
        return (await with_session(store, await user_in(store))).id
    session = await with_session(store, user)
    if how == "revoked":
        await store.revoke_session(session.id, NOW)
    elif how == "ended by a credential change":
        await store.revoke_user_sessions(user.id, NOW, keep=live.id)
    else:
        assert how == "expired"
    return session.id


@pytest.mark.parametrize(
    "how", ["revoked", "ended by a credential change", "expired", "another user's", "unknown"]
)
@pytest.mark.parametrize("stepped_up", [False, True])
async def test_a_password_change_from_a_session_that_is_not_live_changes_nothing(
    store: Store, how: str, stepped_up: bool
) -> None:
    user = await user_in(store)
    live = await with_session(store, user)
    keep = await ended(store, user, how, live)
    before = await store.get_user(user.id)
    changed = event("password_changed", user.id, NOW, NO_PEER, session_id=keep)
    # An expired session's `expires_at` is NOW + 3600: the change comes at that second.
    outcome = await store.replace_password(
        user.id, NEW_HASH, NOW + 3600, keep=keep, activity=changed, stepped_up=stepped_up
    )
    assert outcome == ("session-ended", 0)
    assert await store.get_user(user.id) == before
    # Her live session is not ended by a change that did not happen.
    still = await store.get_session(live.id)
    assert still is not None and still.revoked_at is None
    assert not (await store.list_activity(user.id, limit=10, type="password_changed")).items


@pytest.mark.parametrize("second_factor", ["factor", "passkey"])
async def test_without_a_step_up_no_password_change_once_the_user_has_a_second_factor(
    store: Store, second_factor: str
) -> None:
    user = await user_in(store)
    mine, other = await with_session(store, user), await with_session(store, user)
    if second_factor == "factor":
        await verified_factor(store, user, keep=mine.id)
    else:
        assert await store.add_passkey(a_passkey(user), MAX_PASSKEYS, stepped_up=True) == "added"
    before = await store.get_user(user.id)
    changed = event("password_changed", user.id, NOW, NO_PEER, session_id=mine.id)
    refused = await store.replace_password(
        user.id, NEW_HASH, NOW, keep=mine.id, activity=changed, stepped_up=False
    )
    assert refused == ("step-up", 0)
    assert await store.get_user(user.id) == before
    assert not (await store.list_activity(user.id, limit=10, type="password_changed")).items
    outcome = await store.replace_password(
        user.id, NEW_HASH, NOW, keep=mine.id, activity=changed, stepped_up=True
    )
    # Her other session was ended by the confirmation already, if she has a TOTP factor.
    assert outcome == ("changed", 0 if second_factor == "factor" else 1)
    assert await password_hash_of(store, user) == NEW_HASH
    kept = await store.get_session(mine.id)
    assert kept is not None and kept.revoked_at is None
    ended_session = await store.get_session(other.id)
    assert ended_session is not None and ended_session.revoked_at is not None


async def test_a_pending_factor_is_no_second_factor_for_a_password_change(store: Store) -> None:
    user = await user_in(store)
    mine = await with_session(store, user)
    assert await store.add_factor(a_factor(user), CAP, SINCE, stepped_up=False) == "added"
    outcome = await store.replace_password(user.id, NEW_HASH, NOW, keep=mine.id, stepped_up=False)
    assert outcome == ("changed", 0)
    assert await password_hash_of(store, user) == NEW_HASH


async def test_an_ended_session_is_named_before_a_step_up(store: Store) -> None:
    user = await user_in(store)
    session = await with_session(store, user)
    await verified_factor(store, user, keep=session.id)
    await store.revoke_session(session.id, NOW)
    outcome = await store.replace_password(
        user.id, NEW_HASH, NOW, keep=session.id, stepped_up=False
    )
    assert outcome == ("session-ended", 0)


@pytest.mark.parametrize("store_url", ["postgresql"], indirect=True)
async def test_a_logout_committing_under_the_change_ends_it(store: Store) -> None:
    # On PostgreSQL a logout's revoke locks the session's row only, not the user's: the change
    # waits for it on that row and then sees it. SQLite has one writer at a time, so its
    # change always sees a logout that came first.
    user = await user_in(store)
    mine = await with_session(store, user)
    database = cast(SqlStore, store)._database
    revoke = update(sessions).where(sessions.c.id == mine.id).values(revoked_at=NOW)
    async with database.engine.connect() as logout:
        await logout.begin()
        await logout.execute(revoke)
        logout_pid = (await logout.execute(text("SELECT pg_backend_pid()"))).scalar_one()
        changing = asyncio.ensure_future(
            store.replace_password(user.id, NEW_HASH, NOW, keep=mine.id, stepped_up=False)
        )
        blocked = text(
            "SELECT count(*) FROM pg_stat_activity WHERE :pid = ANY(pg_blocking_pids(pid))"
        )
        for _ in range(500):
            async with database.connect() as watcher:
                if (await watcher.execute(blocked, {"pid": logout_pid})).scalar_one():
                    break
            await asyncio.sleep(0.01)
        else:
            pytest.fail("the change never waited for the uncommitted logout")
        await logout.commit()
    assert await changing == ("session-ended", 0)
    assert await password_hash_of(store, user) == user.password_hash
