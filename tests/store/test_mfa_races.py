"""The MFA store's check-then-act steps under parallel calls, on every backend.

Each race runs over the store's own pool, so on SQL the racers are separate connections in
separate transactions. SQLite takes its write lock only at a transaction's first write: a
count or an existence check read before it is stale by the time the insert runs, unless the
check and the insert are one statement. Every racer starts its call before any of them has
an answer (one gather), and the race is run for several users, so a step that is not atomic
is caught on nearly every run; a step that is atomic passes whichever racer wins.
"""

from __future__ import annotations

import asyncio

from authapi.records import WITH_TOTP, Assurance, TotpFactor, User
from authapi.store import Store
from tests.store.test_mfa_store import NOW, SINCE, a_factor, a_session, a_user

CAP = 5
RACERS = 12
ROUNDS = 2


async def user_in(store: Store) -> User:
    user = a_user()
    await store.add_user(user)
    return user


async def test_racing_enrolments_stop_at_the_cap(store: Store) -> None:
    for _ in range(ROUNDS):
        user = await user_in(store)
        factors = [a_factor(user) for _ in range(RACERS)]
        added = await asyncio.gather(*(store.add_factor(f, CAP, SINCE) for f in factors))
        assert added.count(True) == CAP
        stored = [await store.get_factor(user.id, factor.id) for factor in factors]
        assert len([found for found in stored if found is not None]) == CAP


async def confirm_then_issue(store: Store, factor: TotpFactor, step: int, code: str) -> bool:
    # What a confirmation does: confirm (or find it confirmed), then offer the first codes.
    await store.confirm_factor(factor.user_id, factor.id, step, NOW, SINCE, "none")
    return await store.add_recovery_codes_if_none(factor.user_id, [code], NOW)


async def test_racing_first_confirmations_hand_out_one_set_of_recovery_codes(
    store: Store,
) -> None:
    for _ in range(ROUNDS):
        user = await user_in(store)
        factors = [a_factor(user) for _ in range(2)]
        for factor in factors:
            assert await store.add_factor(factor, CAP, SINCE)
        codes = [f"code-{index}" for index in range(RACERS)]
        issued = await asyncio.gather(
            *(
                confirm_then_issue(store, factors[index % 2], 100 + index, code)
                for index, code in enumerate(codes)
            )
        )
        assert issued.count(True) == 1
        # The winner's code works, and no loser's.
        won = codes[issued.index(True)]
        assert not await store.use_recovery_code(user.id, tuple(c for c in codes if c != won))
        assert await store.use_recovery_code(user.id, (won,))


async def test_racing_removals_of_the_last_two_factors_leave_no_codes_and_aal1_sessions(
    store: Store,
) -> None:
    for _ in range(ROUNDS):
        user = await user_in(store)
        session = a_session(user)
        assert await store.add_session(session)
        factors = [a_factor(user) for _ in range(2)]
        for step, factor in enumerate(factors, start=100):
            assert await store.add_factor(factor, CAP, SINCE)
            assert await store.confirm_factor(user.id, factor.id, step, NOW, SINCE, session.id)
        assert await store.add_recovery_codes_if_none(user.id, ["a", "b"], NOW)
        assert await store.reassure_session(
            session.id, Assurance("aal2", WITH_TOTP, NOW), NOW, None
        )

        removed = await asyncio.gather(
            *(store.delete_factor(user.id, factors[i % 2].id) for i in range(RACERS))
        )
        assert removed.count(True) == 2
        assert await store.verified_factors(user.id) == []
        assert not await store.use_recovery_code(user.id, ("a", "b"))
        lowered = await store.get_session(session.id)
        assert lowered is not None and (lowered.acr, lowered.amr) == ("aal1", ("pwd",))


async def test_no_recovery_codes_are_issued_once_the_confirmed_factor_is_gone(
    store: Store,
) -> None:
    # Confirming and issuing are two steps: a removal may land between them.
    user = await user_in(store)
    factor = a_factor(user)
    assert await store.add_factor(factor, CAP, SINCE)
    assert await store.confirm_factor(user.id, factor.id, 100, NOW, SINCE, "none")
    assert await store.delete_factor(user.id, factor.id)
    assert not await store.add_recovery_codes_if_none(user.id, ["kept"], NOW)
    assert not await store.use_recovery_code(user.id, ("kept",))
