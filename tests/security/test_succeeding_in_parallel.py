"""A success never uses up a limit: it takes back its own count, never anyone else's.

Every attempt is counted before its check, so parallel guesses get no more checks than the
limit; a success then takes back its own hit, in the window that counted it, on every store.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from authapi.settings import Settings
from tests.backends import BACKENDS, storage_url
from tests.config import CHEAP_HASHING, SECRET
from tests.token_clients import RS_ID, RS_SECRET, basic

INTROSPECTIONS = 90
PER_MINUTE = 60  # AUTH_RATE_LIMIT_PER_MINUTE's default


@pytest.fixture(params=BACKENDS)
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    with storage_url(request.param, tmp_path) as url:
        yield url


@pytest.fixture
def settings(store_url: str) -> Settings:
    return Settings(
        jwt_secret_key=SECRET,
        **CHEAP_HASHING,
        storage_url=store_url,
        introspection_clients=((RS_ID, RS_SECRET),),
        auth_rate_limit_per_minute=PER_MINUTE,
    )


async def test_parallel_introspections_with_the_right_secret_are_never_throttled(
    async_client: httpx.AsyncClient,
) -> None:
    responses = await asyncio.gather(
        *(
            async_client.post("/api/v1/auth/introspect", data={"token": "x"}, headers=basic())
            for _ in range(INTROSPECTIONS)
        )
    )
    statuses = [response.status_code for response in responses]
    assert statuses.count(429) == 0, sorted(statuses)
    assert set(statuses) == {200}
