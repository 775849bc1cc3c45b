"""Fixtures chain settings → app → client, plus a helper for the common moves."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from asgi_lifespan import LifespanManager
from starlette.testclient import TestClient

from authapi.keys import hmac_kid
from authapi.settings import Settings
from authapi.tokens import TOKEN_TYP
from tests.apps import app_for
from tests.backends import BACKENDS, storage_url

SECRET = "test-secret-key-that-is-at-least-32-bytes-long"
PASSWORD = "correct horse battery staple"


def forge(
    claims: dict[str, Any], key: str = SECRET, algorithm: str = "HS256", **header: Any
) -> str:
    """Sign arbitrary claims the way the server would (its kid and typ, unless overridden).

    The typ follows the `type` claim, as on the server's own tokens; `typ=None` leaves it out.
    """
    typ = TOKEN_TYP.get(claims.get("type"), "JWT")
    headers = {"kid": hmac_kid(SECRET), "typ": typ, **header}
    return jwt.encode(claims, key, algorithm=algorithm, headers=headers)


@pytest.fixture(params=BACKENDS)
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    with storage_url(request.param, tmp_path) as url:
        yield url


@pytest.fixture
def settings(store_url: str) -> Settings:
    return Settings(jwt_secret_key=SECRET, bcrypt_rounds=4, storage_url=store_url)


class Clock:
    """Starts at the test's start and ticks a millisecond per reading; tests move it on."""

    def __init__(self) -> None:
        self.now = float(int(time.time()))

    def __call__(self) -> float:
        # The tick keeps records made one after another in order, as real time would.
        self.now += 0.001
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def app(settings: Settings, clock: Clock) -> Any:
    return app_for(settings, clock=clock)


@pytest.fixture(autouse=True)
def flush_log_lines() -> Iterator[None]:
    # The app's log handler batches lines: write them while this test's capture holds.
    yield
    for handler in logging.getLogger().handlers:
        handler.flush()


@pytest.fixture
def client(app: Any) -> Iterator[TestClient]:
    # A peer with an IP address, as a TCP client has: the test client's default, the name
    # "testclient", is no address, and the guard keys such a peer as having none.
    with app.test_client(client=("127.0.0.1", 50000)) as test_client:
        yield test_client


@pytest.fixture
async def async_client(app: Any) -> AsyncIterator[httpx.AsyncClient]:
    """The app on the test's own event loop, for requests that must truly run concurrently."""
    async with (
        LifespanManager(app) as manager,
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=manager.app), base_url="http://test"
        ) as async_client,
    ):
        yield async_client


@dataclass
class Account:
    """A registered user and the tokens of her latest login."""

    email: str
    password: str
    access_token: str
    refresh_token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.access_token}"}


class Api:
    """The moves most tests start with."""

    def __init__(self, client: TestClient) -> None:
        self.client = client

    def register(self, email: str = "ada@example.com", password: str = PASSWORD) -> Any:
        return self.client.post(
            "/api/v1/auth/register", json={"email": email, "password": password}
        )

    def login(self, email: str = "ada@example.com", password: str = PASSWORD) -> Any:
        return self.client.post("/api/v1/auth/login", json={"email": email, "password": password})

    def refresh(self, refresh_token: str) -> Any:
        return self.client.post("/api/v1/auth/refresh", json={"refresh_token": refresh_token})

    def profile(self, access_token: str) -> Any:
        return self.client.get(
            "/api/v1/protected/profile", headers={"Authorization": f"Bearer {access_token}"}
        )

    def logout(self, access_token: str, body: dict[str, str] | None = None) -> Any:
        return self.client.post(
            "/api/v1/auth/logout",
            headers={"Authorization": f"Bearer {access_token}"},
            json=body,
        )

    def account(self, email: str = "ada@example.com", password: str = PASSWORD) -> Account:
        """Register (if needed) and log in."""
        self.register(email, password)
        tokens = self.login(email, password).json()
        return Account(email, password, tokens["access_token"], tokens["refresh_token"])


@pytest.fixture
def api(client: TestClient) -> Api:
    return Api(client)
