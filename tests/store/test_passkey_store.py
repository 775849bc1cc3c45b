"""The passkey part of every store: the cap, the step-up a second factor asks for, unique
credential ids, the counter's compare-and-set, challenges taken once, the last-passkey rule,
and the purge."""

from __future__ import annotations

import asyncio
import dataclasses
import uuid
from typing import cast

import pytest
from sqlalchemy import text

from authapi.activity import event
from authapi.errors import LastPasskey
from authapi.records import NO_PEER, WITH_PASSKEY, Passkey, User, WebauthnChallenge
from authapi.store import Store
from authapi.store.schema import passkeys
from authapi.store.sql import SqlStore
from tests.store.test_mfa_store import NOW, SINCE, a_factor, a_session, a_user, verified_factor

RACERS = 12


def a_passkey(user: User, credential_id: str | None = None) -> Passkey:
    return Passkey(
        id=str(uuid.uuid4()),
        user_id=user.id,
        credential_id=credential_id or uuid.uuid4().hex,
        public_key="pQECAyYgAQ",
        sign_count=0,
        aaguid="5f0f7a9e-1c2d-4b3a-8e6f-0a1b2c3d4e5f",
        backed_up=False,
        name="Passkey",
        created_at=NOW,
    )


def a_challenge(
    user: User | None = None, purpose: str = "login", **fields: str
) -> WebauthnChallenge:
    return WebauthnChallenge(
        id=str(uuid.uuid4()),
        challenge="c" * 43,
        purpose=purpose,  # type: ignore[arg-type]
        expires_at=NOW + 300,
        user_id=None if user is None else user.id,
        **fields,  # type: ignore[arg-type]
    )


async def test_a_passkey_is_kept_with_everything_it_was_registered_with(store: Store) -> None:
    user = a_user()
    await store.add_user(user)
    passkey = a_passkey(user)
    assert await store.add_passkey(passkey, 10, stepped_up=False) == "added"
    handle = await store.user_handle(user.id, "handle-of-ada")
    assert await store.passkeys_of(user.id) == [passkey]
    assert await store.find_passkey(passkey.credential_id) == (passkey, handle)
    assert await store.find_passkey("no-such-credential") is None


async def test_the_user_handle_is_made_once_and_kept(store: Store) -> None:
    user = a_user()
    await store.add_user(user)
    assert await store.user_handle(user.id, "first") == "first"
    assert await store.user_handle(user.id, "second") == "first"


async def test_the_cap_holds_when_registrations_race(store: Store) -> None:
    user = a_user()
    await store.add_user(user)
    added = await asyncio.gather(
        *(store.add_passkey(a_passkey(user), 10, stepped_up=True) for _ in range(RACERS))
    )
    assert sorted(added) == ["added"] * 10 + ["cap"] * (RACERS - 10)
    assert len(await store.passkeys_of(user.id)) == 10


async def test_without_a_step_up_a_passkey_is_added_only_while_no_factor_is_verified(
    store: Store,
) -> None:
    user = a_user()
    await store.add_user(user)
    # A pending TOTP factor is no second factor yet.
    pending = a_factor(user)
    assert await store.add_factor(pending, 5, SINCE, stepped_up=False) == "added"
    first = a_passkey(user)
    assert await store.add_passkey(first, 10, stepped_up=False) == "added"
    assert await store.delete_passkey(user.id, first.id)
    assert await store.confirm_factor(user.id, pending.id, 100, NOW, SINCE, "none")
    refused = a_passkey(user)
    registered = event("passkey_registered", user.id, NOW, NO_PEER, factor_id=refused.id)
    assert await store.add_passkey(refused, 10, registered, stepped_up=False) == "step-up"
    assert await store.passkeys_of(user.id) == []
    # A refused passkey reports nothing: the activity goes with the insert or not at all.
    assert [item.type for item in (await store.list_activity(user.id, limit=10)).items] == []
    assert await store.add_passkey(refused, 10, registered, stepped_up=True) == "added"
    assert await store.passkeys_of(user.id) == [refused]


async def test_without_a_step_up_no_passkey_is_added_once_the_user_has_one(store: Store) -> None:
    user = a_user()
    await store.add_user(user)
    first, refused = a_passkey(user), a_passkey(user)
    assert await store.add_passkey(first, 10, stepped_up=False) == "added"
    assert await store.add_passkey(refused, 10, stepped_up=False) == "step-up"
    assert await store.passkeys_of(user.id) == [first]
    assert await store.find_passkey(refused.credential_id) is None


async def test_racing_registrations_without_a_step_up_add_one_passkey(store: Store) -> None:
    user = a_user()
    await store.add_user(user)
    added = await asyncio.gather(
        *(store.add_passkey(a_passkey(user), 10, stepped_up=False) for _ in range(RACERS))
    )
    assert sorted(added) == ["added"] + ["step-up"] * (RACERS - 1)
    assert len(await store.passkeys_of(user.id)) == 1


async def test_a_stepped_up_registration_is_added_beside_second_factors_up_to_the_cap(
    store: Store,
) -> None:
    user = a_user()
    await store.add_user(user)
    await verified_factor(store, user, keep="none")
    for _ in range(10):
        assert await store.add_passkey(a_passkey(user), 10, stepped_up=True) == "added"
    assert await store.add_passkey(a_passkey(user), 10, stepped_up=True) == "cap"
    assert len(await store.passkeys_of(user.id)) == 10


async def test_a_credential_id_is_unique_across_users(store: Store) -> None:
    ada, bob = a_user(), a_user()
    for user in (ada, bob):
        await store.add_user(user)
    assert await store.add_passkey(a_passkey(ada, "same-id"), 10, stepped_up=False) == "added"
    assert await store.add_passkey(a_passkey(bob, "same-id"), 10, stepped_up=False) == "taken"
    assert await store.passkeys_of(bob.id) == []


@pytest.mark.parametrize("owner", ["hers", "another user's"])
@pytest.mark.parametrize("also", ["nothing else", "the cap", "a step-up due"])
async def test_a_taken_credential_id_is_refused_as_taken_whatever_else_would_refuse_it(
    store: Store, owner: str, also: str
) -> None:
    ada, bob = a_user(), a_user()
    for user in (ada, bob):
        await store.add_user(user)
    taken = a_passkey(ada if owner == "hers" else bob)
    assert await store.add_passkey(taken, 10, stepped_up=True) == "added"
    if also == "the cap":
        while len(await store.passkeys_of(ada.id)) < 10:
            assert await store.add_passkey(a_passkey(ada), 10, stepped_up=True) == "added"
    if also == "a step-up due":
        await verified_factor(store, ada, keep="none")
    kept = await store.passkeys_of(ada.id)
    again = a_passkey(ada, taken.credential_id)
    registered = event("passkey_registered", ada.id, NOW, NO_PEER, factor_id=again.id)
    outcome = await store.add_passkey(again, 10, registered, stepped_up=also != "a step-up due")
    assert outcome == "taken"
    assert await store.passkeys_of(ada.id) == kept
    found = await store.find_passkey(taken.credential_id)
    assert found is not None and found[0] == taken
    activity = (await store.list_activity(ada.id, limit=20)).items
    assert "passkey_registered" not in [item.type for item in activity]


@pytest.mark.parametrize("stepped_up", [True, False])
async def test_a_user_at_the_cap_is_refused_for_the_cap_stepped_up_or_not(
    store: Store, stepped_up: bool
) -> None:
    user = a_user()
    await store.add_user(user)
    for _ in range(3):
        assert await store.add_passkey(a_passkey(user), 3, stepped_up=True) == "added"
    assert await store.add_passkey(a_passkey(user), 3, stepped_up=stepped_up) == "cap"
    assert len(await store.passkeys_of(user.id)) == 3


async def test_racing_registrations_of_one_credential_id_by_many_users_add_it_once(
    store: Store,
) -> None:
    users = [a_user() for _ in range(RACERS)]
    for user in users:
        await store.add_user(user)
    added = await asyncio.gather(
        *(store.add_passkey(a_passkey(user, "same-id"), 10, stepped_up=False) for user in users)
    )
    assert sorted(added) == ["added"] + ["taken"] * (RACERS - 1)
    found = await store.find_passkey("same-id")
    assert found is not None
    assert [await store.passkeys_of(user.id) for user in users].count([found[0]]) == 1


@pytest.mark.parametrize("store_url", ["postgresql"], indirect=True)
async def test_a_credential_id_another_users_registration_commits_under_the_insert_is_taken(
    store: Store,
) -> None:
    # On PostgreSQL two users' registrations run at once (each locks her own row): the insert's
    # own check sees no such id, and the unique index refuses it once the other commits.
    # SQLite has one writer at a time, so its insert's check always sees the other's row.
    ada, bob = a_user(), a_user()
    for user in (ada, bob):
        await store.add_user(user)
    database = cast(SqlStore, store)._database
    async with database.engine.connect() as other:
        await other.begin()
        await other.execute(passkeys.insert().values(**dataclasses.asdict(a_passkey(bob, "x"))))
        other_pid = (await other.execute(text("SELECT pg_backend_pid()"))).scalar_one()
        adding = asyncio.ensure_future(store.add_passkey(a_passkey(ada, "x"), 10, stepped_up=False))
        blocked = text(
            "SELECT count(*) FROM pg_stat_activity WHERE :pid = ANY(pg_blocking_pids(pid))"
        )
        for _ in range(500):
            async with database.connect() as watcher:
                if (await watcher.execute(blocked, {"pid": other_pid})).scalar_one():
                    break
            await asyncio.sleep(0.01)
        else:
            pytest.fail("the registration never waited for the other's uncommitted passkey")
        await other.commit()
    assert await adding == "taken"
    assert await store.passkeys_of(ada.id) == []


async def test_the_counter_moves_by_compare_and_set_and_one_of_racers_wins(store: Store) -> None:
    user = a_user()
    await store.add_user(user)
    passkey = a_passkey(user)
    await store.add_passkey(passkey, 10, stepped_up=False)
    moved = await asyncio.gather(
        *(store.use_passkey(passkey.id, 0, 1, True, NOW + 1) for _ in range(RACERS))
    )
    assert moved.count(True) == 1
    assert not await store.use_passkey(passkey.id, 0, 2, False, NOW + 2)
    (stored,) = await store.passkeys_of(user.id)
    assert (stored.sign_count, stored.backed_up, stored.last_used_at) == (1, True, NOW + 1)


async def test_a_challenge_is_taken_once_when_verifies_race(store: Store) -> None:
    challenge = a_challenge()
    await store.add_webauthn_challenge(challenge)
    taken = await asyncio.gather(
        *(store.take_webauthn_challenge(challenge.id, "login", NOW) for _ in range(RACERS))
    )
    assert [t for t in taken if t is not None] == [challenge]


async def test_a_challenge_is_taken_only_live_for_its_purpose_and_its_binding(
    store: Store,
) -> None:
    ada, bob = a_user(), a_user()
    for user in (ada, bob):
        await store.add_user(user)
    bound = a_challenge(ada, "mfa", mfa_token_hash="h" * 64)
    await store.add_webauthn_challenge(bound)
    assert await store.take_webauthn_challenge(bound.id, "login", NOW) is None
    assert await store.take_webauthn_challenge(bound.id, "mfa", NOW, bob.id, "h" * 64) is None
    assert await store.take_webauthn_challenge(bound.id, "mfa", NOW, ada.id, "x" * 64) is None
    assert await store.take_webauthn_challenge(bound.id, "mfa", NOW + 300, ada.id, "h" * 64) is None
    assert await store.take_webauthn_challenge(bound.id, "mfa", NOW, ada.id, "h" * 64) == bound


async def test_the_purge_deletes_expired_challenges_only(store: Store) -> None:
    old, live = a_challenge(), dataclasses.replace(a_challenge(), expires_at=NOW + 900)
    for challenge in (old, live):
        await store.add_webauthn_challenge(challenge)
    assert await store.purge(NOW + 300, 1000) >= 1
    assert await store.take_webauthn_challenge(old.id, "login", NOW) is None
    assert await store.take_webauthn_challenge(live.id, "login", NOW) == live


async def test_the_last_passkey_of_a_user_without_a_password_is_never_deleted(
    store: Store,
) -> None:
    # Every account has a password today; the rule is kept for the day one has none.
    user = dataclasses.replace(a_user(), password_hash="")
    await store.add_user(user)
    first, second = a_passkey(user), a_passkey(user)
    for passkey in (first, second):
        await store.add_passkey(passkey, 10, stepped_up=True)
    assert await store.delete_passkey(user.id, first.id)
    with pytest.raises(LastPasskey):
        await store.delete_passkey(user.id, second.id)
    assert await store.passkeys_of(user.id) == [second]


async def test_racing_deletes_never_leave_a_user_without_a_password_no_passkey(
    store: Store,
) -> None:
    user = dataclasses.replace(a_user(), password_hash="")
    await store.add_user(user)
    mine = [a_passkey(user) for _ in range(3)]
    for passkey in mine:
        await store.add_passkey(passkey, 10, stepped_up=True)

    async def delete(passkey: Passkey) -> bool:
        try:
            return await store.delete_passkey(user.id, passkey.id)
        except LastPasskey:
            return False

    deleted = await asyncio.gather(*(delete(passkey) for passkey in mine))
    assert deleted.count(True) == 2
    assert len(await store.passkeys_of(user.id)) == 1


async def test_the_last_passkey_of_a_user_with_a_password_may_go(store: Store) -> None:
    user = a_user()
    await store.add_user(user)
    passkey = a_passkey(user)
    await store.add_passkey(passkey, 10, stepped_up=False)
    assert await store.delete_passkey(user.id, passkey.id)
    assert not await store.delete_passkey(user.id, passkey.id)


async def test_another_users_passkey_is_neither_renamed_nor_deleted(store: Store) -> None:
    ada, bob = a_user(), a_user()
    for user in (ada, bob):
        await store.add_user(user)
    passkey = a_passkey(ada)
    await store.add_passkey(passkey, 10, stepped_up=False)
    assert await store.rename_passkey(bob.id, passkey.id, "Mine") is None
    assert not await store.delete_passkey(bob.id, passkey.id)
    renamed = await store.rename_passkey(ada.id, passkey.id, "Phone")
    assert renamed == dataclasses.replace(passkey, name="Phone")


async def test_sessions_drop_to_aal1_when_the_last_second_factor_goes(store: Store) -> None:
    user = a_user()
    await store.add_user(user)
    session = dataclasses.replace(a_session(user), acr="aal2", amr=WITH_PASSKEY)
    assert await store.add_session(session)
    factor = await verified_factor(store, user, keep=session.id)
    passkey = a_passkey(user)
    await store.add_passkey(passkey, 10, stepped_up=True)
    # A TOTP factor is left: the session keeps its aal2.
    await store.delete_passkey(user.id, passkey.id)
    kept = await store.get_session(session.id)
    assert kept is not None and kept.acr == "aal2"
    # Conversely a passkey keeps it when the last TOTP factor goes.
    await store.add_passkey(a_passkey(user), 10, stepped_up=True)
    await store.delete_factor(user.id, factor.id)
    kept = await store.get_session(session.id)
    assert kept is not None and kept.acr == "aal2"
    (last,) = await store.passkeys_of(user.id)
    await store.delete_passkey(user.id, last.id)
    lowered = await store.get_session(session.id)
    assert lowered is not None and (lowered.acr, lowered.amr) == ("aal1", ("pwd",))


async def test_a_reauthentication_challenge_is_taken_once_by_its_user_and_for_nothing_else(
    store: Store,
) -> None:
    ada, bob = a_user(), a_user()
    for user in (ada, bob):
        await store.add_user(user)
    challenge = a_challenge(ada, "reauthenticate")
    await store.add_webauthn_challenge(challenge)
    for purpose in ("login", "mfa", "registration"):
        assert await store.take_webauthn_challenge(challenge.id, purpose, NOW, ada.id) is None
    assert await store.take_webauthn_challenge(challenge.id, "reauthenticate", NOW, bob.id) is None
    taken = await asyncio.gather(
        *(
            store.take_webauthn_challenge(challenge.id, "reauthenticate", NOW, ada.id)
            for _ in range(RACERS)
        )
    )
    assert [t for t in taken if t is not None] == [challenge]
