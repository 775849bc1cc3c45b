"""Credential changes win every race: logins that began before one leave no live session.

Real parallel requests against the app on each store. The account's hash is made at a higher
cost than the app's BCRYPT_ROUNDS, so every racing login checks its password slowly and then
rehashes it: a login that read the account before a change is still hashing when the change
lands. The logins start a few milliseconds apart ("staggered around the change"); which of
them straddle it varies from run to run, and every assertion holds whichever do.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from authapi.records import User
from authapi.settings import Settings
from authapi.store import Store
from authapi.tokens import TokenPair
from authapi.web.services import Services
from tests.api_moves import PASSWORD
from tests.apps import app_for
from tests.backends import BACKENDS, opened_store, storage_url
from tests.clock import Clock
from tests.config import settings_for

EMAIL = "ada@example.com"
NEW_PASSWORD = "a brand new passphrase"
STORED_ROUNDS = 8  # the account's hash; the app runs at 4, so each login also rehashes
RACERS = 24
STAGGER_SECONDS = 0.004


@pytest.fixture(params=BACKENDS)
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    with storage_url(request.param, tmp_path) as url:
        yield url


# No throttling (the racers are one client), and a bcrypt thread for every racer, so that a
# login started later finishes later instead of waiting its turn behind the change.
pytestmark = pytest.mark.settings(
    login_max_failures=0, auth_rate_limit_per_minute=0, hash_concurrency=RACERS + 4
)


class ObservedStore:
    """The real store, counting the account look-ups that begin each login, once done."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.lookups = 0

    async def get_user_by_email(self, email: str) -> User | None:
        found = await self.store.get_user_by_email(email)
        # Counted once the account has been read, not when the read was asked for: on a pool
        # of several connections, a read asked for first may still run after a later write.
        self.lookups += 1
        return found

    def __getattr__(self, name: str) -> Any:
        return getattr(self.store, name)


@pytest.fixture
async def store(store_url: str) -> AsyncIterator[ObservedStore]:
    async with opened_store(store_url) as opened:
        yield ObservedStore(opened)


@pytest.fixture
def app(settings: Settings, clock: Clock, store: ObservedStore) -> Any:
    return app_for(settings, clock=clock, store=store)  # type: ignore[arg-type]


async def signed_up(store: ObservedStore, clock: Clock) -> TokenPair:
    """Register the account with a hash at STORED_ROUNDS, and log in once at that cost."""
    config = settings_for(bcrypt_rounds=STORED_ROUNDS, hash_concurrency=1)
    services = Services.build(config, store=store.store, clock=clock)
    try:
        await services.accounts.register(EMAIL, PASSWORD)
        return (await services.accounts.login(EMAIL, PASSWORD)).pair
    finally:
        services.hasher.close()


async def log_in(client: httpx.AsyncClient, password: str, delay: float = 0) -> httpx.Response:
    await asyncio.sleep(delay)
    return await client.post("/api/v1/auth/login", json={"email": EMAIL, "password": password})


async def change_password(client: httpx.AsyncClient, access_token: str) -> httpx.Response:
    return await client.post(
        "/api/v1/auth/password",
        headers={"Authorization": f"Bearer {access_token}"},
        json={"current_password": PASSWORD, "new_password": NEW_PASSWORD},
    )


async def is_live(client: httpx.AsyncClient, tokens: dict[str, Any] | TokenPair) -> bool:
    """Tell whether either token of a login is still accepted."""
    if isinstance(tokens, TokenPair):
        tokens = {"access_token": tokens.access_token, "refresh_token": tokens.refresh_token}
    profile = await client.get(
        "/api/v1/protected/profile",
        headers={"Authorization": f"Bearer {tokens['access_token']}"},
    )
    refreshed = await client.post(
        "/api/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]}
    )
    return profile.status_code != 401 or refreshed.status_code != 401


async def race_logins_with(
    client: httpx.AsyncClient, change: Any
) -> tuple[httpx.Response, list[httpx.Response]]:
    """Start the change, then a login every few milliseconds until well past it."""
    changed, *logins = await asyncio.gather(
        change,
        *(log_in(client, PASSWORD, delay=i * STAGGER_SECONDS) for i in range(RACERS)),
    )
    return changed, logins


async def test_no_login_with_the_old_password_stays_live_after_a_password_change(
    async_client: httpx.AsyncClient, store: ObservedStore, clock: Clock
) -> None:
    changer = await signed_up(store, clock)
    changed, logins = await race_logins_with(
        async_client, change_password(async_client, changer.access_token)
    )
    assert changed.status_code == 200, changed.text
    assert {response.status_code for response in logins} <= {200, 401}
    # Each login that got tokens used the old password, so it began before the change.
    survivors = [
        r for r in logins if r.status_code == 200 and await is_live(async_client, r.json())
    ]
    assert survivors == []
    # The caller who changed the password keeps her session, under the new credentials.
    assert await is_live(async_client, changer)


async def test_a_rehash_racing_a_password_change_never_restores_the_old_password(
    async_client: httpx.AsyncClient, store: ObservedStore, clock: Clock
) -> None:
    changer = await signed_up(store, clock)
    changed, _ = await race_logins_with(
        async_client, change_password(async_client, changer.access_token)
    )
    assert changed.status_code == 200, changed.text
    assert (await log_in(async_client, PASSWORD)).status_code == 401
    assert (await log_in(async_client, NEW_PASSWORD)).status_code == 200


async def test_no_login_that_began_before_logout_all_stays_live(
    async_client: httpx.AsyncClient, store: ObservedStore, clock: Clock
) -> None:
    changer = await signed_up(store, clock)
    logins = [asyncio.ensure_future(log_in(async_client, PASSWORD)) for _ in range(RACERS // 4)]
    # Every racer has read the account (and is checking its password) before logout-all starts.
    while store.lookups < len(logins):
        await asyncio.sleep(0.001)
    ended = await async_client.post(
        "/api/v1/auth/logout-all", headers={"Authorization": f"Bearer {changer.access_token}"}
    )
    assert ended.status_code == 200
    responses = await asyncio.gather(*logins)
    assert {response.status_code for response in responses} <= {200, 401}
    survivors = [
        r for r in responses if r.status_code == 200 and await is_live(async_client, r.json())
    ]
    assert survivors == []
    assert not await is_live(async_client, changer)
    # The account itself is fine: a login that begins after logout-all gets a live session.
    after = await log_in(async_client, PASSWORD)
    assert after.status_code == 200
    assert await is_live(async_client, after.json())


async def test_a_refresh_racing_the_end_of_its_session_leaves_nothing_live(
    async_client: httpx.AsyncClient, store: ObservedStore, clock: Clock
) -> None:
    victim = await signed_up(store, clock)
    sessions = await async_client.get(
        "/api/v1/auth/sessions", headers={"Authorization": f"Bearer {victim.access_token}"}
    )
    (session_id,) = [item["id"] for item in sessions.json()["items"]]
    refreshes = [
        async_client.post("/api/v1/auth/refresh", json={"refresh_token": victim.refresh_token})
        for _ in range(RACERS // 4)
    ]
    ended, *responses = await asyncio.gather(
        async_client.delete(
            f"/api/v1/auth/sessions/{session_id}",
            headers={"Authorization": f"Bearer {victim.access_token}"},
        ),
        *refreshes,
    )
    assert ended.status_code == 204
    for response in responses:
        assert response.status_code in (200, 401)
        if response.status_code == 200:
            assert not await is_live(async_client, response.json())
