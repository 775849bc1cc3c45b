"""The MFA part of every store: factors, replay's compare-and-set, recovery codes, challenges."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime

from authapi.records import WITH_TOTP, MfaChallenge, Session, TotpFactor, User
from authapi.store import Store
from authapi.store.base import PENDING_FACTOR_SECONDS

NOW = 1_700_000_000
SINCE = NOW - PENDING_FACTOR_SECONDS


def a_user() -> User:
    return User(
        id=str(uuid.uuid4()),
        email=f"{uuid.uuid4().hex[:8]}@example.com",
        password_hash="$2b$04$hash",
        created_at=datetime.fromtimestamp(NOW, UTC),
    )


def a_factor(user: User, created_at: int = NOW) -> TotpFactor:
    return TotpFactor(str(uuid.uuid4()), user.id, "sealed", created_at)


def a_session(user: User) -> Session:
    return Session(str(uuid.uuid4()), user.id, NOW, NOW + 3600, "h", auth_time=NOW)


async def verified_factor(store: Store, user: User, keep: str, step: int = 100) -> TotpFactor:
    factor = a_factor(user)
    assert await store.add_factor(factor, 5, SINCE, stepped_up=True) == "added"
    assert await store.confirm_factor(user.id, factor.id, step, NOW, SINCE, keep)
    found = await store.get_factor(user.id, factor.id)
    assert found is not None
    return found


async def test_at_most_the_maximum_of_live_factors_and_an_expired_pending_one_counts_for_none(
    store: Store,
) -> None:
    user = a_user()
    await store.add_user(user)
    expired = a_factor(user, created_at=SINCE)
    assert await store.add_factor(expired, 2, SINCE, stepped_up=False) == "added"
    assert await store.add_factor(a_factor(user), 2, SINCE, stepped_up=False) == "added"
    assert await store.add_factor(a_factor(user), 2, SINCE, stepped_up=False) == "added"
    assert await store.add_factor(a_factor(user), 2, SINCE, stepped_up=False) == "cap"


async def test_confirming_verifies_the_factor_and_ends_every_other_session(store: Store) -> None:
    user = a_user()
    await store.add_user(user)
    mine, other = a_session(user), a_session(user)
    for session in (mine, other):
        assert await store.add_session(session)
    factor = await verified_factor(store, user, keep=mine.id)
    assert factor.is_verified and factor.last_used_step == 100
    assert [f.id for f in await store.verified_factors(user.id)] == [factor.id]
    assert [s.id for s in await store.list_sessions(user.id, NOW)] == [mine.id]


async def test_an_expired_or_confirmed_factor_is_not_confirmed_again(store: Store) -> None:
    user = a_user()
    await store.add_user(user)
    stale = a_factor(user, created_at=SINCE + 1)
    assert await store.add_factor(stale, 5, SINCE, stepped_up=False) == "added"
    assert not await store.confirm_factor(user.id, stale.id, 100, NOW, SINCE + 1, "none")
    factor = await verified_factor(store, user, keep="none")
    assert not await store.confirm_factor(user.id, factor.id, 200, NOW, SINCE, "none")
    assert await store.verified_factors(user.id) == [factor]


async def test_a_step_is_accepted_once_and_never_an_earlier_one(store: Store) -> None:
    user = a_user()
    await store.add_user(user)
    factor = await verified_factor(store, user, keep="none", step=100)
    assert not await store.use_totp_step(factor.id, 100, NOW)
    assert not await store.use_totp_step(factor.id, 99, NOW)
    assert await store.use_totp_step(factor.id, 101, NOW + 30)
    assert not await store.use_totp_step(factor.id, 101, NOW + 30)
    stored = await store.get_factor(user.id, factor.id)
    assert stored is not None and (stored.last_used_step, stored.last_used_at) == (101, NOW + 30)


async def test_parallel_uses_of_one_step_get_exactly_one_success(store: Store) -> None:
    user = a_user()
    await store.add_user(user)
    factor = await verified_factor(store, user, keep="none", step=100)
    results = await asyncio.gather(*(store.use_totp_step(factor.id, 101, NOW) for _ in range(10)))
    assert results.count(True) == 1


async def test_a_pending_factor_accepts_no_step(store: Store) -> None:
    user = a_user()
    await store.add_user(user)
    factor = a_factor(user)
    assert await store.add_factor(factor, 5, SINCE, stepped_up=False) == "added"
    assert not await store.use_totp_step(factor.id, 101, NOW)


async def test_removing_the_last_factor_drops_recovery_codes_and_lowers_the_sessions(
    store: Store,
) -> None:
    user = a_user()
    await store.add_user(user)
    session = a_session(user)
    assert await store.add_session(session)
    first = await verified_factor(store, user, keep=session.id)
    second = await verified_factor(store, user, keep=session.id)
    assert await store.add_recovery_codes_if_none(user.id, ["c1", "c2"], NOW)
    assert await store.reassure_session(
        session.id, session.assurance.__class__("aal2", WITH_TOTP, NOW), NOW, None
    )
    assert await store.delete_factor(user.id, first.id)
    kept = await store.get_session(session.id)
    assert kept is not None and kept.acr == "aal2"
    assert await store.delete_factor(user.id, second.id)
    lowered = await store.get_session(session.id)
    assert lowered is not None and (lowered.acr, lowered.amr) == ("aal1", ("pwd",))
    assert not await store.use_recovery_code(user.id, ("c1",))
    assert not await store.delete_factor(user.id, second.id)


async def test_another_users_factor_can_be_neither_read_nor_removed(store: Store) -> None:
    ada, eve = a_user(), a_user()
    for user in (ada, eve):
        await store.add_user(user)
    factor = await verified_factor(store, ada, keep="none")
    assert await store.get_factor(eve.id, factor.id) is None
    assert not await store.delete_factor(eve.id, factor.id)


async def test_recovery_codes_are_issued_once_replaced_whole_and_each_spent_once(
    store: Store,
) -> None:
    user = a_user()
    await store.add_user(user)
    await verified_factor(store, user, keep="none")
    assert await store.add_recovery_codes_if_none(user.id, ["a", "b"], NOW)
    assert not await store.add_recovery_codes_if_none(user.id, ["c"], NOW)
    assert await store.use_recovery_code(user.id, ("x", "a"))
    assert not await store.use_recovery_code(user.id, ("a",))
    assert await store.replace_recovery_codes(user.id, ["d"], NOW)
    assert not await store.use_recovery_code(user.id, ("b",))
    results = await asyncio.gather(*(store.use_recovery_code(user.id, ("d",)) for _ in range(10)))
    assert results.count(True) == 1


async def test_a_challenge_counts_its_attempts_up_to_the_limit_and_is_spent_once(
    store: Store,
) -> None:
    user = a_user()
    await store.add_user(user)
    challenge = MfaChallenge("t" * 64, user.id, "api", 0, NOW + 300)
    await store.add_challenge(challenge)
    attempts = await asyncio.gather(
        *(store.count_challenge_attempt(challenge.token_hash, 5, NOW) for _ in range(8))
    )
    assert sorted(a.attempts for a in attempts if a is not None) == [1, 2, 3, 4, 5]
    assert attempts.count(None) == 3
    spent = await asyncio.gather(*(store.spend_challenge(challenge.token_hash) for _ in range(5)))
    assert spent.count(True) == 1
    assert await store.get_challenge(challenge.token_hash) is None


async def test_an_expired_challenge_takes_no_attempt(store: Store) -> None:
    user = a_user()
    await store.add_user(user)
    challenge = MfaChallenge("e" * 64, user.id, "browser", 0, NOW)
    await store.add_challenge(challenge)
    assert await store.get_challenge(challenge.token_hash) == challenge
    assert await store.count_challenge_attempt(challenge.token_hash, 5, NOW) is None


async def test_the_purge_deletes_expired_pending_factors_and_challenges_only(store: Store) -> None:
    user = a_user()
    await store.add_user(user)
    stale, fresh = a_factor(user, created_at=SINCE), a_factor(user)
    for factor in (stale, fresh):
        assert await store.add_factor(factor, 5, SINCE - 1, stepped_up=False) == "added"
    kept = await verified_factor(store, user, keep="none")
    old = MfaChallenge("o" * 64, user.id, "api", 0, NOW)
    new = MfaChallenge("n" * 64, user.id, "api", 0, NOW + 300)
    for challenge in (old, new):
        await store.add_challenge(challenge)
    await store.purge(NOW, 100)
    assert await store.get_factor(user.id, stale.id) is None
    assert await store.get_factor(user.id, fresh.id) is not None
    assert await store.get_factor(user.id, kept.id) is not None
    assert await store.get_challenge(old.token_hash) is None
    assert await store.get_challenge(new.token_hash) == new
