"""Guessing the /metrics token: failed scrapes are limited per client address.

Before, /metrics answered every wrong token with a 401, as fast as they came, without
counting. Now failures count per client address under AUTH_RATE_LIMIT_PER_MINUTE, as failed
client authentications at introspection do; once they are used up, the right token from
that address is refused too (429 with Retry-After), so a 429 tells a guesser nothing.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.testclient import TestClient

from authapi.errors import StoreUnavailable
from authapi.records import Hits
from authapi.settings import Settings
from authapi.store.memory import MemoryStore
from authapi.web.app import create_app
from tests.backends import BACKENDS, storage_url
from tests.clock import Clock
from tests.config import CHEAP_HASHING, SECRET

TOKEN = "a-metrics-token-of-at-least-32-bytes!"
RIGHT = {"Authorization": f"Bearer {TOKEN}"}
PER_MINUTE = 3  # AUTH_RATE_LIMIT_PER_MINUTE
PROXY = "127.0.0.1"  # the test client's peer, trusted where a test says so


def guess(number: int) -> dict[str, str]:
    return {"Authorization": f"Bearer wrong-guess-{number}"}


def from_address(address: str, headers: dict[str, str]) -> dict[str, str]:
    return {**headers, "X-Forwarded-For": address}


@pytest.fixture(params=BACKENDS)
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    # The count is one atomic store operation, and the peek one read: run every backend.
    with storage_url(request.param, tmp_path) as url:
        yield url


@pytest.fixture
def settings(store_url: str) -> Settings:
    return Settings(
        jwt_secret_key=SECRET,
        **CHEAP_HASHING,
        storage_url=store_url,
        metrics_token=TOKEN,
        auth_rate_limit_per_minute=PER_MINUTE,
        trusted_proxies=(PROXY,),
    )


def assert_throttled(response: Any) -> None:
    assert response.status_code == 429, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["status"] == 429
    assert 1 <= int(response.headers["retry-after"]) <= 60


def assert_unauthorized(response: Any) -> None:
    assert response.status_code == 401, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["www-authenticate"] == 'Bearer realm="metrics"'
    assert "wrong-guess" not in response.text


def test_guessing_the_metrics_token_is_throttled_and_then_the_right_one_is_refused_too(
    client: TestClient,
) -> None:
    for number in range(PER_MINUTE):
        assert_unauthorized(client.get("/metrics", headers=guess(number)))
    assert_throttled(client.get("/metrics", headers=guess(PER_MINUTE)))
    assert_throttled(client.get("/metrics", headers=RIGHT))


def test_metrics_throttle_counts_per_address(client: TestClient) -> None:
    for number in range(PER_MINUTE + 1):
        client.get("/metrics", headers=from_address("203.0.113.7", guess(number)))
    assert_throttled(client.get("/metrics", headers=from_address("203.0.113.7", RIGHT)))
    assert client.get("/metrics", headers=from_address("198.51.100.9", RIGHT)).status_code == 200


def test_metrics_throttle_ends_with_its_minute(client: TestClient, clock: Clock) -> None:
    for number in range(PER_MINUTE + 1):
        client.get("/metrics", headers=guess(number))
    clock.advance(60)
    assert client.get("/metrics", headers=RIGHT).status_code == 200
    assert_unauthorized(client.get("/metrics", headers=guess(0)))


def test_right_scrapes_use_up_nothing(client: TestClient) -> None:
    # A Prometheus server scrapes every few seconds: it must never meet the limit itself.
    for _ in range(PER_MINUTE * 3):
        assert client.get("/metrics", headers=RIGHT).status_code == 200
    for number in range(PER_MINUTE):
        assert_unauthorized(client.get("/metrics", headers=guess(number)))


def test_forged_x_forwarded_for_from_an_untrusted_peer_does_not_reset_the_throttle(
    store_url: str, clock: Clock
) -> None:
    settings = Settings(
        jwt_secret_key=SECRET,
        **CHEAP_HASHING,
        storage_url=store_url,
        metrics_token=TOKEN,
        auth_rate_limit_per_minute=PER_MINUTE,
    )
    with create_app(settings, clock=clock).test_client(client=("192.0.2.1", 50000)) as client:
        for number in range(PER_MINUTE):
            forged = from_address(f"203.0.113.{number}", guess(number))
            assert_unauthorized(client.get("/metrics", headers=forged))
        assert_throttled(client.get("/metrics", headers=from_address("203.0.113.99", RIGHT)))


def test_without_a_metrics_token_nothing_is_counted(store_url: str, clock: Clock) -> None:
    # Development's open /metrics (production refuses it): any header is simply ignored.
    settings = Settings(
        jwt_secret_key=SECRET,
        **CHEAP_HASHING,
        storage_url=store_url,
        auth_rate_limit_per_minute=PER_MINUTE,
    )
    with create_app(settings, clock=clock).test_client() as client:
        for number in range(PER_MINUTE * 2):
            assert client.get("/metrics", headers=guess(number)).status_code == 200


async def test_parallel_guesses_get_at_most_the_limit_of_answers(
    async_client: httpx.AsyncClient,
) -> None:
    guesses = 20
    responses = await asyncio.gather(
        *(async_client.get("/metrics", headers=guess(n)) for n in range(guesses))
    )
    statuses = sorted(response.status_code for response in responses)
    assert statuses == [401] * PER_MINUTE + [429] * (guesses - PER_MINUTE)
    assert_throttled(await async_client.get("/metrics", headers=RIGHT))


class StoreDown(MemoryStore):
    """A store whose counters cannot be reached, as while a database restarts."""

    async def hit(self, key: str, window_seconds: int, now: int) -> Hits:
        raise StoreUnavailable()

    async def peek(self, key: str, window_seconds: int, now: int) -> Hits:
        raise StoreUnavailable()


def test_with_the_store_down_a_guess_is_refused_and_the_right_token_still_scrapes(
    clock: Clock,
) -> None:
    settings = Settings(
        jwt_secret_key=SECRET,
        **CHEAP_HASHING,
        metrics_token=TOKEN,
        auth_rate_limit_per_minute=PER_MINUTE,
    )
    with create_app(settings, store=StoreDown(), clock=clock).test_client() as client:
        for number in range(PER_MINUTE + 1):
            # A guess that cannot be counted is refused, never answered 401.
            refused = client.get("/metrics", headers=guess(number))
            assert refused.status_code == 503
            assert refused.headers["content-type"] == "application/problem+json"
            assert refused.headers["retry-after"]
        # The metrics matter most while the store is down; guesses meanwhile get 503, not a
        # 429, so they are not limited then, which a 32-byte token (production) can afford.
        assert client.get("/metrics", headers=RIGHT).status_code == 200
