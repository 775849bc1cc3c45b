"""A WebAuthn challenge is answered once, and a counter value counts once, on every store."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.api_moves import PASSWORD
from tests.backends import BACKENDS, storage_url
from tests.clock import Clock
from tests.mfa_moves import bearer, start_at_a_step
from tests.passkey_moves import PASSKEYS
from tooling.soft_authenticator import SoftAuthenticator

RACERS = 8


@pytest.fixture(params=BACKENDS)
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    with storage_url(request.param, tmp_path) as url:
        yield url


async def user_with_passkey(client: httpx.AsyncClient) -> SoftAuthenticator:
    """Register, log in and add a passkey over an httpx.AsyncClient."""
    credentials = {"email": "ada@example.com", "password": PASSWORD}
    await client.post("/api/v1/auth/register", json=credentials)
    tokens = (await client.post("/api/v1/auth/login", json=credentials)).json()
    headers = bearer(tokens["access_token"])
    options = (await client.post(f"{PASSKEYS}/registration/options", headers=headers)).json()
    authenticator = SoftAuthenticator()
    body = {"challenge_id": options["challenge_id"], "credential": authenticator.create(options)}
    added = await client.post(f"{PASSKEYS}/registration/verify", headers=headers, json=body)
    assert added.status_code == 201, added.text
    return authenticator


# Room for every loser: the per-address failure limit is test_passkey_assertions.py's.
@pytest.mark.settings(login_max_failures=RACERS)
async def test_parallel_verifies_of_one_challenge_get_exactly_one_session(
    async_client: httpx.AsyncClient, clock: Clock
) -> None:
    start_at_a_step(clock)
    authenticator = await user_with_passkey(async_client)
    options = (await async_client.post(f"{PASSKEYS}/authentication/options")).json()
    credential = authenticator.get(options)
    body = {"challenge_id": options["challenge_id"], "credential": credential}
    answers = await asyncio.gather(
        *(async_client.post(f"{PASSKEYS}/authentication/verify", json=body) for _ in range(RACERS))
    )
    assert sorted(answer.status_code for answer in answers) == [200] + [401] * (RACERS - 1)


@pytest.mark.settings(login_max_failures=RACERS)
async def test_parallel_assertions_with_one_counter_value_get_exactly_one_session(
    async_client: httpx.AsyncClient, clock: Clock
) -> None:
    # Each has a challenge of its own: only the counter's compare-and-set tells them apart.
    start_at_a_step(clock)
    authenticator = await user_with_passkey(async_client)
    bodies = []
    for _ in range(RACERS):
        options = (await async_client.post(f"{PASSKEYS}/authentication/options")).json()
        credential = authenticator.get(options, counter=1)
        bodies.append({"challenge_id": options["challenge_id"], "credential": credential})
    answers = await asyncio.gather(
        *(async_client.post(f"{PASSKEYS}/authentication/verify", json=body) for body in bodies)
    )
    assert sorted(answer.status_code for answer in answers) == [200] + [401] * (RACERS - 1)
