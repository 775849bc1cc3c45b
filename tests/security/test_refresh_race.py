"""Many concurrent refreshes with one stolen refresh token: exactly one wins, on every store."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.api_moves import PASSWORD
from tests.backends import BACKENDS, storage_url

RACERS = 20


@pytest.fixture(params=BACKENDS)
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    # Rotation is atomic in each store (a lock, or a conditional UPDATE): race every one.
    with storage_url(request.param, tmp_path) as url:
        yield url


async def test_concurrent_refreshes_with_one_token_let_exactly_one_through(
    async_client: httpx.AsyncClient,
) -> None:
    credentials = {"email": "ada@example.com", "password": PASSWORD}
    await async_client.post("/api/v1/auth/register", json=credentials)
    tokens = (await async_client.post("/api/v1/auth/login", json=credentials)).json()
    responses = await asyncio.gather(
        *(
            async_client.post(
                "/api/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]}
            )
            for _ in range(RACERS)
        )
    )
    statuses = sorted(response.status_code for response in responses)
    assert statuses == [200] + [401] * (RACERS - 1)
    winner = next(response.json() for response in responses if response.status_code == 200)
    # The losers raced within the grace window: the winner's session lives on.
    profile = await async_client.get(
        "/api/v1/protected/profile",
        headers={"Authorization": f"Bearer {winner['access_token']}"},
    )
    assert profile.status_code == 200
    again = await async_client.post(
        "/api/v1/auth/refresh", json={"refresh_token": winner["refresh_token"]}
    )
    assert again.status_code == 200
