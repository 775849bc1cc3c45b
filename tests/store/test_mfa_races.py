"""The MFA store's check-then-act steps under parallel calls, on every backend.

Each race runs over the store's own pool, so on SQL the racers are separate connections in
separate transactions. SQLite takes its write lock only at a transaction's first write: a
count or an existence check read before it is stale by the time the insert runs, unless the
check and the insert are one statement. Every racer starts its call before any of them has
an answer (one gather), and the race is run for several users, so a step that is not atomic
is caught on nearly every run; a step that is atomic passes whichever racer wins.

An enrolment racing the user's first second factor is run through the use case, with that
factor landing just before the enrolment's insert (ChangedBeforeTheInsert): the window a
check read before the insert would leave, forced on every run and every backend, since on
the memory store nothing yields inside it. An enrolment refused for a step-up is run through
the use case too, with her second factor removed just after the refused insert
(RemovedAfterTheInsert): the window a read after the insert would leave.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Awaitable, Callable
from typing import Any, cast

import pytest

from authapi.errors import StepUpRequired
from authapi.passkeys import MAX_PASSKEYS
from authapi.records import (
    PASSWORD_ONLY,
    WITH_TOTP,
    Acr,
    Assurance,
    FactorOutcome,
    Session,
    TotpFactor,
    User,
)
from authapi.sessions import Caller
from authapi.store import Store
from authapi.tokens import Claims
from authapi.web.services import Services
from tests.config import settings_for
from tests.store.test_mfa_store import NOW, SINCE, a_factor, a_session, a_user, verified_factor
from tests.store.test_passkey_store import a_passkey

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
        added = await asyncio.gather(
            *(store.add_factor(f, CAP, SINCE, stepped_up=False) for f in factors)
        )
        assert sorted(added) == ["added"] * CAP + ["cap"] * (RACERS - CAP)
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
            assert await store.add_factor(factor, CAP, SINCE, stepped_up=False) == "added"
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
            assert await store.add_factor(factor, CAP, SINCE, stepped_up=True) == "added"
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
    assert await store.add_factor(factor, CAP, SINCE, stepped_up=False) == "added"
    assert await store.confirm_factor(user.id, factor.id, 100, NOW, SINCE, "none")
    assert await store.delete_factor(user.id, factor.id)
    assert not await store.add_recovery_codes_if_none(user.id, ["kept"], NOW)
    assert not await store.use_recovery_code(user.id, ("kept",))


async def test_without_a_step_up_a_factor_is_added_only_while_no_factor_is_verified(
    store: Store,
) -> None:
    user = await user_in(store)
    first, second = a_factor(user), a_factor(user)
    # Pending factors are no second factor yet: a single-factor session may start several.
    for factor in (first, second):
        assert await store.add_factor(factor, CAP, SINCE, stepped_up=False) == "added"
    assert await store.confirm_factor(user.id, first.id, 100, NOW, SINCE, "none")
    refused = a_factor(user)
    assert await store.add_factor(refused, CAP, SINCE, stepped_up=False) == "step-up"
    assert await store.get_factor(user.id, refused.id) is None
    assert await store.add_factor(a_factor(user), CAP, SINCE, stepped_up=True) == "added"


async def test_without_a_step_up_no_factor_is_added_once_the_user_has_a_passkey(
    store: Store,
) -> None:
    user = await user_in(store)
    assert await store.add_passkey(a_passkey(user), MAX_PASSKEYS, stepped_up=False) == "added"
    refused = a_factor(user)
    assert await store.add_factor(refused, CAP, SINCE, stepped_up=False) == "step-up"
    assert await store.get_factor(user.id, refused.id) is None
    assert await store.add_factor(a_factor(user), CAP, SINCE, stepped_up=True) == "added"


async def test_a_stepped_up_enrolment_still_stops_at_the_cap(store: Store) -> None:
    user = await user_in(store)
    for _ in range(CAP):
        assert await store.add_factor(a_factor(user), CAP, SINCE, stepped_up=True) == "added"
    assert await store.add_factor(a_factor(user), CAP, SINCE, stepped_up=True) == "cap"


@pytest.mark.parametrize("second_factor", ["factor", "passkey"])
async def test_a_refusal_names_the_step_up_before_the_cap(store: Store, second_factor: str) -> None:
    # Both hold: she has a second factor, and as many live TOTP factors as the cap.
    user = await user_in(store)
    if second_factor == "factor":
        await verified_factor(store, user, keep="none")
    else:
        assert await store.add_passkey(a_passkey(user), MAX_PASSKEYS, stepped_up=True) == "added"
    pending = CAP - len(await store.verified_factors(user.id))
    for _ in range(pending):
        assert await store.add_factor(a_factor(user), CAP, SINCE, stepped_up=True) == "added"
    refused = a_factor(user)
    assert await store.add_factor(refused, CAP, SINCE, stepped_up=False) == "step-up"
    assert await store.add_factor(refused, CAP, SINCE, stepped_up=True) == "cap"
    assert await store.get_factor(user.id, refused.id) is None


class ChangedBeforeTheInsert:
    """A store on which a change of the user's lands just before an enrolment's insert.

    That is the window a check read before the insert leaves open: the first racer to reach
    the insert starts the change, and every racer waits for it to commit, then inserts.
    """

    def __init__(self, store: Store, change: Callable[[], Awaitable[bool]]) -> None:
        self._store = store
        self._change = change
        self._landed: asyncio.Future[bool] | None = None
        self.tried: list[TotpFactor] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)

    async def add_factor(self, factor: TotpFactor, *args: Any, **kwargs: Any) -> FactorOutcome:
        self.tried.append(factor)
        if self._landed is None:
            self._landed = asyncio.ensure_future(self._change())
        assert await self._landed
        return await self._store.add_factor(factor, *args, **kwargs)


class RemovedAfterTheInsert:
    """A store on which the user's second factor goes just after an enrolment's insert.

    That is the window a read after a refused insert leaves open: the removal commits before
    the store's answer reaches the use case.
    """

    def __init__(self, store: Store, remove: Callable[[], Awaitable[bool]]) -> None:
        self._store = store
        self._remove = remove

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)

    async def add_factor(self, factor: TotpFactor, *args: Any, **kwargs: Any) -> FactorOutcome:
        outcome = await self._store.add_factor(factor, *args, **kwargs)
        assert await self._remove()
        return outcome


def services_on(store: object) -> Services:
    """Build the use cases as the app does, on the race's store, with the clock at NOW."""
    return Services.build(settings_for(), store=cast(Store, store), clock=lambda: float(NOW))


def caller_of(user: User, session: Session, auth_time: int = NOW) -> Caller:
    claims = Claims(
        user.id, session.id, "jti", "access", NOW, NOW + 900, session.acr, session.amr, auth_time
    )
    return Caller(claims, user, session)


async def racing(store: Store, change: str) -> tuple[User, Session, ChangedBeforeTheInsert]:
    """Return a user with a session, and her store where `change` lands before an insert."""
    user = await user_in(store)
    session = a_session(user)
    assert await store.add_session(session)
    first = a_factor(user)
    assert await store.add_factor(first, CAP, SINCE, stepped_up=False) == "added"

    async def confirmation() -> bool:
        return await store.confirm_factor(user.id, first.id, 100, NOW, SINCE, session.id)

    async def passkey() -> bool:
        added = await store.add_passkey(a_passkey(user), MAX_PASSKEYS, stepped_up=False)
        return added == "added"

    changes = {"confirmation": confirmation, "passkey": passkey}
    return user, session, ChangedBeforeTheInsert(store, changes[change])


@pytest.mark.parametrize("change", ["confirmation", "passkey"])
async def test_enrolments_racing_the_first_second_factor_add_none_without_a_step_up(
    store: Store, change: str
) -> None:
    user, session, changed = await racing(store, change)
    mfa, caller = services_on(changed).mfa, caller_of(user, session)
    answers = await asyncio.gather(
        *(mfa.enrol(caller) for _ in range(RACERS)), return_exceptions=True
    )
    added = [f.id for f in changed.tried if await store.get_factor(user.id, f.id) is not None]
    assert added == []
    assert [type(answer) for answer in answers] == [StepUpRequired] * RACERS
    # Each racer reached the insert: the store refused them, not a read before it.
    assert len(changed.tried) == RACERS


@pytest.mark.parametrize("change", ["confirmation", "passkey"])
async def test_a_stepped_up_enrolment_is_added_after_the_first_second_factor(
    store: Store, change: str
) -> None:
    user, session, changed = await racing(store, change)
    stepped_up = dataclasses.replace(session, acr="aal2", amr=WITH_TOTP)
    enrolment = await services_on(changed).mfa.enrol(caller_of(user, stepped_up))
    assert await store.get_factor(user.id, enrolment.factor_id) is not None


@pytest.mark.parametrize("second_factor", ["factor", "passkey"])
@pytest.mark.parametrize(("acr", "missing"), [("aal1", "acr:"), ("aal2", "auth_time:")])
async def test_an_enrolment_refused_for_a_step_up_asks_for_one_though_the_factor_goes_right_after(
    store: Store, second_factor: str, acr: Acr, missing: str
) -> None:
    user = await user_in(store)
    amr = WITH_TOTP if acr == "aal2" else PASSWORD_ONLY
    session = dataclasses.replace(a_session(user), acr=acr, amr=amr)
    assert await store.add_session(session)
    if second_factor == "factor":
        kept = await verified_factor(store, user, keep=session.id)
        removed = RemovedAfterTheInsert(store, lambda: store.delete_factor(user.id, kept.id))
    else:
        passkey = a_passkey(user)
        assert await store.add_passkey(passkey, MAX_PASSKEYS, stepped_up=True) == "added"
        removed = RemovedAfterTheInsert(store, lambda: store.delete_passkey(user.id, passkey.id))
    # An aal1 session, or an aal2 one authenticated an hour ago: short of a step-up either way.
    caller = caller_of(user, session, auth_time=NOW - 3600)
    with pytest.raises(StepUpRequired) as refused:
        await services_on(removed).mfa.enrol(caller)
    # The answer the insert's refusal called for, naming what she lacks: not a 409 for a cap
    # she is far from, which a read after the removal would give.
    assert refused.value.detail.startswith(missing)
    assert await store.verified_factors(user.id) == []
    assert await store.passkeys_of(user.id) == []
