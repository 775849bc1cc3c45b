"""A passkey registration racing the user's first second factor, on every store.

The registration's verify step reads whether she has a second factor before it spends the
challenge, and inserts the passkey later. Her first TOTP factor confirmed, or another passkey
registered, between that read and the insert must not let a single-factor session add a
second factor: the insert refuses it. The race is run through the use case with the change
landing once every registration has passed its read and reached its insert
(LandsBeforeTheInserts): the window forced on every run and every backend, since on the
memory store nothing yields inside it.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Awaitable, Callable
from typing import Any, cast

import pytest

from authapi.errors import StepUpRequired
from authapi.passkeys import MAX_PASSKEYS
from authapi.records import WITH_TOTP, Passkey, PasskeyOutcome, Session, User
from authapi.sessions import Caller
from authapi.store import Store
from authapi.web.services import Services
from tests.config import settings_for
from tests.store.test_mfa_races import CAP, caller_of, user_in
from tests.store.test_mfa_store import NOW, SINCE, a_factor, a_session
from tests.store.test_passkey_store import a_passkey
from tooling.soft_authenticator import SoftAuthenticator

RACERS = 6


class LandsBeforeTheInserts:
    """A store on which a change of the user's lands once `racers` registrations wait to insert.

    Each registration has passed its own check by then: the last to arrive starts the change,
    and every one waits for it to commit, then inserts.
    """

    def __init__(self, store: Store, change: Callable[[], Awaitable[bool]], racers: int) -> None:
        self._store = store
        self._change = change
        self._racers = racers
        self._arrived = asyncio.Event()
        self._landed: asyncio.Future[bool] | None = None
        self.tried: list[Passkey] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)

    async def add_passkey(self, passkey: Passkey, *args: Any, **kwargs: Any) -> PasskeyOutcome:
        self.tried.append(passkey)
        if len(self.tried) == self._racers:
            self._landed = asyncio.ensure_future(self._change())
            self._arrived.set()
        await self._arrived.wait()
        assert self._landed is not None and await self._landed
        return await self._store.add_passkey(passkey, *args, **kwargs)


async def racing(
    store: Store, change: str, racers: int
) -> tuple[User, Session, LandsBeforeTheInserts]:
    """Return a user with a session, and her store where `change` lands before the inserts."""
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
    return user, session, LandsBeforeTheInserts(store, changes[change], racers)


async def registered(
    store: LandsBeforeTheInserts, callers: list[Caller]
) -> list[Passkey | BaseException]:
    """Ask options for each caller, then answer them all at once; return each answer."""
    services = Services.build(settings_for(), store=cast(Store, store), clock=lambda: float(NOW))
    passkeys = services.passkeys
    answers = []
    for caller in callers:
        options = await passkeys.registration_options(caller)
        credential = SoftAuthenticator().create(options.public_key)
        answers.append(passkeys.register(caller, options.challenge_id, credential))
    return await asyncio.gather(*answers, return_exceptions=True)


@pytest.mark.parametrize("change", ["confirmation", "passkey"])
async def test_registrations_racing_the_first_second_factor_add_none_without_a_step_up(
    store: Store, change: str
) -> None:
    user, session, changed = await racing(store, change, RACERS)
    answers = await registered(changed, [caller_of(user, session)] * RACERS)
    # Each racer reached the insert: the store refused them, not a read before it.
    assert len(changed.tried) == RACERS
    kept = {p.id for p in await store.passkeys_of(user.id)}
    assert [p.id for p in changed.tried if p.id in kept] == []
    assert [type(answer) for answer in answers] == [StepUpRequired] * RACERS


@pytest.mark.parametrize("change", ["confirmation", "passkey"])
async def test_a_stepped_up_registration_is_added_after_the_first_second_factor(
    store: Store, change: str
) -> None:
    user, session, changed = await racing(store, change, 1)
    stepped_up = dataclasses.replace(session, acr="aal2", amr=WITH_TOTP)
    (answer,) = await registered(changed, [caller_of(user, stepped_up)])
    assert isinstance(answer, Passkey)
    assert answer.id in {p.id for p in await store.passkeys_of(user.id)}
