"""Brute force in parallel: guesses sent at once get no more password checks than one by one.

Each attempt is counted by one atomic store operation before bcrypt runs, so the check and
the count cannot be split by concurrent requests, on any store.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.api_moves import PASSWORD
from tests.backends import BACKENDS, storage_url

GUESSES = 40
MAX_FAILURES = 5  # LOGIN_MAX_FAILURES
FAILURE_WINDOW = 900  # LOGIN_FAILURE_WINDOW_SECONDS
WRONG = "not the password at all"


@pytest.fixture(params=BACKENDS)
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    # The count is atomic in each store (a lock, or an upsert that returns it): race every one.
    with storage_url(request.param, tmp_path) as url:
        yield url


# The cost of the report: checks long enough for every guess to be in flight.
pytestmark = pytest.mark.settings(bcrypt_rounds=10)


def assert_refused_or_checked(responses: list[httpx.Response], bcrypt_calls: list[str]) -> None:
    """Assert at most MAX_FAILURES password checks, and a 429 with Retry-After for the rest."""
    assert len(bcrypt_calls) <= MAX_FAILURES, len(bcrypt_calls)
    refused = [response for response in responses if response.status_code == 429]
    # A check the hash queue sheds answers 503; it was counted all the same.
    assert len(refused) == GUESSES - MAX_FAILURES, sorted(r.status_code for r in responses)
    for response in refused:
        assert response.headers["content-type"] == "application/problem+json"
        assert 1 <= int(response.headers["retry-after"]) <= FAILURE_WINDOW


async def test_parallel_wrong_logins_get_at_most_max_failures_password_checks(
    async_client: httpx.AsyncClient, bcrypt_calls: list[str]
) -> None:
    credentials = {"email": "ada@example.com", "password": PASSWORD}
    assert (await async_client.post("/api/v1/auth/register", json=credentials)).status_code == 201
    wrong = {**credentials, "password": WRONG}
    responses = await asyncio.gather(
        *(async_client.post("/api/v1/auth/login", json=wrong) for _ in range(GUESSES))
    )
    assert_refused_or_checked(responses, bcrypt_calls)
    assert {r.status_code for r in responses} <= {401, 429, 503}
    # The right password from the same address is refused too until the window ends.
    assert (await async_client.post("/api/v1/auth/login", json=credentials)).status_code == 429


async def test_parallel_current_password_guesses_get_at_most_max_failures_checks(
    async_client: httpx.AsyncClient, bcrypt_calls: list[str]
) -> None:
    credentials = {"email": "ada@example.com", "password": PASSWORD}
    await async_client.post("/api/v1/auth/register", json=credentials)
    tokens = (await async_client.post("/api/v1/auth/login", json=credentials)).json()
    headers = {"Authorization": f"Bearer {tokens['access_token']}"}
    bcrypt_calls.clear()  # the login's own check is not a guess
    guess = {"current_password": WRONG, "new_password": "a brand new passphrase"}
    responses = await asyncio.gather(
        *(
            async_client.post("/api/v1/auth/password", headers=headers, json=guess)
            for _ in range(GUESSES)
        )
    )
    assert_refused_or_checked(responses, bcrypt_calls)
    # A wrong current password answers 403 naming the field.
    assert {r.status_code for r in responses} <= {403, 429, 503}
