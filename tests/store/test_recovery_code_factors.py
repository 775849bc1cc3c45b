"""Recovery codes belong to the user's second factors, of either kind, on every backend.

They are kept while a verified TOTP factor or a passkey is left, and deleted by the removal
that takes the last of them, in its own step: two removals racing (the last factor's and
the last passkey's) each see the other's outcome, so neither leaves codes without a factor.
A new set is stored only while a second factor is left, in one step with that check.

Each race starts every call before any has an answer (one gather), over the store's own
pool, for several users: a step that checks and then acts in two would be caught.
"""

from __future__ import annotations

import asyncio
import dataclasses

from authapi.records import WITH_PASSKEY, Session, TotpFactor, User
from authapi.store import Store
from tests.store.test_mfa_store import NOW, a_session, a_user, verified_factor
from tests.store.test_passkey_store import a_passkey

CODES = ["code-a", "code-b"]
RACERS = 6
ROUNDS = 3


async def user_with_both_factors(store: Store) -> tuple[User, Session, TotpFactor, str]:
    """A user with an aal2 session, a verified TOTP factor, a passkey and two codes."""
    user = a_user()
    await store.add_user(user)
    session = dataclasses.replace(a_session(user), acr="aal2", amr=WITH_PASSKEY)
    assert await store.add_session(session)
    factor = await verified_factor(store, user, keep=session.id)
    passkey = a_passkey(user)
    assert await store.add_passkey(passkey, 10, stepped_up=True) == "added"
    assert await store.add_recovery_codes_if_none(user.id, CODES, NOW)
    return user, session, factor, passkey.id


async def passkey_user(store: Store) -> tuple[User, str]:
    user = a_user()
    await store.add_user(user)
    passkey = a_passkey(user)
    assert await store.add_passkey(passkey, 10, stepped_up=True) == "added"
    return user, passkey.id


async def test_removing_the_last_totp_factor_keeps_the_codes_while_a_passkey_is_left(
    store: Store,
) -> None:
    user, session, factor, _ = await user_with_both_factors(store)
    assert await store.delete_factor(user.id, factor.id)
    assert await store.use_recovery_code(user.id, ("code-a",))
    kept = await store.get_session(session.id)
    assert kept is not None and kept.acr == "aal2"


async def test_removing_the_last_passkey_keeps_the_codes_while_a_totp_factor_is_left(
    store: Store,
) -> None:
    user, _, _, passkey_id = await user_with_both_factors(store)
    assert await store.delete_passkey(user.id, passkey_id)
    assert await store.use_recovery_code(user.id, ("code-a",))


async def test_removing_the_last_passkey_takes_the_codes_when_no_totp_factor_is_left(
    store: Store,
) -> None:
    user, passkey_id = await passkey_user(store)
    assert await store.replace_recovery_codes(user.id, CODES, NOW)
    assert await store.delete_passkey(user.id, passkey_id)
    assert not await store.use_recovery_code(user.id, tuple(CODES))
    # And after a TOTP factor went first, with a passkey left.
    user, session, factor, passkey_id = await user_with_both_factors(store)
    assert await store.delete_factor(user.id, factor.id)
    assert await store.delete_passkey(user.id, passkey_id)
    assert not await store.use_recovery_code(user.id, tuple(CODES))
    lowered = await store.get_session(session.id)
    assert lowered is not None and (lowered.acr, lowered.amr) == ("aal1", ("pwd",))


async def test_a_passkey_user_gets_a_new_set_and_a_user_without_a_second_factor_none(
    store: Store,
) -> None:
    user, passkey_id = await passkey_user(store)
    assert await store.replace_recovery_codes(user.id, ["first"], NOW)
    assert await store.replace_recovery_codes(user.id, CODES, NOW)
    assert not await store.use_recovery_code(user.id, ("first",))
    assert await store.use_recovery_code(user.id, ("code-a",))
    assert await store.delete_passkey(user.id, passkey_id)
    assert not await store.replace_recovery_codes(user.id, ["late"], NOW)
    assert not await store.use_recovery_code(user.id, ("late", "code-b"))
    # A pending TOTP factor is no second factor yet.
    bob = a_user()
    await store.add_user(bob)
    assert not await store.replace_recovery_codes(bob.id, ["never"], NOW)
    assert not await store.use_recovery_code(bob.id, ("never",))


async def test_has_recovery_codes_tells_whether_an_unused_one_is_left(store: Store) -> None:
    user, _ = await passkey_user(store)
    assert not await store.has_recovery_codes(user.id)
    assert await store.replace_recovery_codes(user.id, ["only"], NOW)
    assert await store.has_recovery_codes(user.id)
    assert await store.use_recovery_code(user.id, ("only",))
    assert not await store.has_recovery_codes(user.id)


async def test_racing_removals_of_the_last_factor_and_the_last_passkey_leave_no_codes(
    store: Store,
) -> None:
    for _ in range(ROUNDS):
        user, session, factor, passkey_id = await user_with_both_factors(store)
        removals = []
        for _ in range(RACERS):
            removals += [
                store.delete_factor(user.id, factor.id),
                store.delete_passkey(user.id, passkey_id),
            ]
        removed = await asyncio.gather(*removals)
        assert removed.count(True) == 2
        assert not await store.use_recovery_code(user.id, tuple(CODES))
        lowered = await store.get_session(session.id)
        assert lowered is not None and (lowered.acr, lowered.amr) == ("aal1", ("pwd",))


async def test_a_new_set_racing_the_removals_of_the_last_second_factors_is_not_left_behind(
    store: Store,
) -> None:
    for _ in range(ROUNDS):
        user, _, factor, passkey_id = await user_with_both_factors(store)
        new_sets = [[f"new-{index}"] for index in range(RACERS)]
        await asyncio.gather(
            store.delete_factor(user.id, factor.id),
            *(store.replace_recovery_codes(user.id, codes, NOW) for codes in new_sets),
            store.delete_passkey(user.id, passkey_id),
        )
        every_code = tuple(CODES) + tuple(code for codes in new_sets for code in codes)
        assert not await store.use_recovery_code(user.id, every_code)
