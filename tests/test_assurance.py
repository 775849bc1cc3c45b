"""Assurance in every token: login sets it, a refresh copies it and never raises it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from authapi.records import WITH_TOTP, Assurance
from authapi.settings import Settings
from authapi.store import Store
from authapi.web.services import Services
from tests.api_moves import PASSWORD
from tests.backends import opened_store
from tests.clock import Clock
from tests.config import SECRET


@pytest.fixture
async def store(store_url: str) -> AsyncIterator[Store]:
    async with opened_store(store_url) as opened:
        yield opened


def services_on(store: Store, clock: Clock) -> Services:
    settings = Settings(jwt_secret_key=SECRET, bcrypt_rounds=4)
    # Tokens are minted at the clock's time, which starts ten minutes ago and moves towards
    # now: PyJWT checks `iat` against the real time.
    clock.advance(-600)
    return Services.build(settings, store=store, clock=clock)


async def test_a_password_login_carries_aal1_pwd_and_the_login_time(
    store: Store, clock: Clock
) -> None:
    services = services_on(store, clock)
    await services.accounts.register("ada@example.com", PASSWORD)
    pair = (await services.accounts.login("ada@example.com", PASSWORD)).pair
    claims = services.codec.decode(pair.access_token, "access")
    assert (claims.acr, claims.amr) == ("aal1", ("pwd",))
    assert claims.auth_time == int(clock.now)


async def test_a_refresh_copies_the_sessions_assurance_and_never_moves_auth_time(
    store: Store, clock: Clock
) -> None:
    services = services_on(store, clock)
    await services.accounts.register("ada@example.com", PASSWORD)
    pair = (await services.accounts.login("ada@example.com", PASSWORD)).pair
    logged_in_at = services.codec.decode(pair.access_token, "access").auth_time
    clock.advance(120)
    refreshed = await services.sessions.refresh(pair.refresh_token)
    claims = services.codec.decode(refreshed.access_token, "access")
    assert (claims.acr, claims.amr, claims.auth_time) == ("aal1", ("pwd",), logged_in_at)
    assert claims.iat > logged_in_at


async def test_a_refresh_keeps_a_raised_level_and_its_time_without_raising_anything(
    store: Store, clock: Clock
) -> None:
    services = services_on(store, clock)
    await services.accounts.register("ada@example.com", PASSWORD)
    pair = (await services.accounts.login("ada@example.com", PASSWORD)).pair
    caller = await services.sessions.authenticate(pair.access_token)
    raised = Assurance("aal2", WITH_TOTP, int(clock.now))
    reassured = await services.sessions.reassure(caller, raised)
    clock.advance(300)
    refreshed = await services.sessions.refresh(reassured.refresh_token)
    claims = services.codec.decode(refreshed.access_token, "access")
    assert (claims.acr, claims.amr, claims.auth_time) == (raised.acr, raised.amr, raised.auth_time)
