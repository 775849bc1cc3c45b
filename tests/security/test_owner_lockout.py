"""Strangers cannot lock an owner out (ASVS 2.2.1), and guessing stays bounded overall.

Failures count per (account, client address). An address the account has logged in from
keeps its own count, whatever strangers do elsewhere; every other address shares a
per-account ceiling (LOGIN_MAX_FAILURES_PER_ACCOUNT an hour).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from tests.api_moves import PASSWORD
from tests.apps import app_for
from tests.backends import BACKENDS, storage_url
from tests.clock import Clock
from tests.config import settings_for

WRONG = "not the password at all"
MAX_FAILURES = 5  # LOGIN_MAX_FAILURES
FAILURE_WINDOW = 900  # LOGIN_FAILURE_WINDOW_SECONDS
CEILING_WINDOW = 3600
PROXY = "10.0.0.1"
HOME = "192.0.2.10"  # where the owner has logged in before
STRANGER = "198.51.100.7"
OTHER_STRANGER = "198.51.100.8"


@pytest.fixture(params=BACKENDS)
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    # Familiar addresses and counters are both in the store: try every one.
    with storage_url(request.param, tmp_path) as url:
        yield url


class Doors:
    """Logins arriving from any client address, as a trusted proxy reports them."""

    def __init__(self, client: TestClient) -> None:
        self.client = client

    def login(self, address: str, password: str = PASSWORD, email: str = "ada@example.com") -> Any:
        return self.client.post(
            "/api/v1/auth/login",
            json={"email": email, "password": password},
            headers={"X-Forwarded-For": address},
        )


@contextmanager
def serving(store_url: str, clock: Clock, **settings: Any) -> Iterator[Doors]:
    """Serve an app behind a trusted proxy, with ada@example.com registered."""
    config = settings_for(
        storage_url=store_url,
        trusted_proxies=("10.0.0.0/8",),
        **settings,
    )
    app = app_for(config, clock=clock)
    with app.test_client(client=(PROXY, 50000)) as client:
        registered = client.post(
            "/api/v1/auth/register", json={"email": "ada@example.com", "password": PASSWORD}
        )
        assert registered.status_code == 201
        yield Doors(client)


def assert_too_many(response: Any, window: int) -> None:
    assert response.status_code == 429, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert 1 <= int(response.headers["retry-after"]) <= window


def fresh_addresses() -> Iterator[str]:
    for n in range(1, 250):
        yield f"203.0.113.{n}"


def test_owner_logs_in_from_a_familiar_address_while_a_stranger_is_locked_out(
    store_url: str, clock: Clock
) -> None:
    with serving(store_url, clock) as doors:
        assert doors.login(HOME).status_code == 200
        for _ in range(MAX_FAILURES):
            assert doors.login(STRANGER, WRONG).status_code == 401
        # The stranger's address is locked, even for the right password...
        assert_too_many(doors.login(STRANGER), FAILURE_WINDOW)
        # ...and the owner at home is not.
        assert doors.login(HOME).status_code == 200
        assert doors.login(HOME, WRONG).status_code == 401


def test_a_stranger_at_a_fresh_address_is_still_limited_per_address(
    store_url: str, clock: Clock, bcrypt_calls: list[str]
) -> None:
    with serving(store_url, clock) as doors:
        for address in (STRANGER, OTHER_STRANGER):
            for _ in range(MAX_FAILURES):
                assert doors.login(address, WRONG).status_code == 401
            assert_too_many(doors.login(address, WRONG), FAILURE_WINDOW)
        assert len(bcrypt_calls) == 2 * MAX_FAILURES


def test_a_success_takes_back_its_own_count_only(store_url: str, clock: Clock) -> None:
    with serving(store_url, clock) as doors:
        for _ in range(MAX_FAILURES - 1):
            assert doors.login(HOME, WRONG).status_code == 401
        for _ in range(MAX_FAILURES):
            assert doors.login(STRANGER, WRONG).status_code == 401
        assert doors.login(HOME).status_code == 200
        # The failures before the success still count: one more, and the address is done.
        assert doors.login(HOME, WRONG).status_code == 401
        assert_too_many(doors.login(HOME, WRONG), FAILURE_WINDOW)
        assert_too_many(doors.login(STRANGER), FAILURE_WINDOW)


def test_past_the_account_ceiling_only_familiar_addresses_may_try(
    store_url: str, clock: Clock, bcrypt_calls: list[str]
) -> None:
    ceiling = 8
    with serving(store_url, clock, login_max_failures_per_account=ceiling) as doors:
        # The owner's first login came from an address new to the account: being right, it
        # takes its count back.
        assert doors.login(HOME).status_code == 200
        addresses = fresh_addresses()
        statuses = [doors.login(next(addresses), WRONG).status_code for _ in range(ceiling + 1)]
        assert statuses == [401] * ceiling + [429]
        # Any address new to the account is refused now, before any bcrypt work...
        checks = len(bcrypt_calls)
        assert_too_many(doors.login(next(addresses)), CEILING_WINDOW)
        assert len(bcrypt_calls) == checks
        # ...while the owner's own address may still try, and its attempts never count.
        assert doors.login(HOME, WRONG).status_code == 401
        assert doors.login(HOME).status_code == 200
        clock.advance(CEILING_WINDOW)
        assert doors.login(next(addresses), WRONG).status_code == 401


def test_unknown_email_meets_the_account_ceiling_like_a_real_one(
    store_url: str, clock: Clock
) -> None:
    ceiling = 8
    answers = {}
    with serving(store_url, clock, login_max_failures_per_account=ceiling) as doors:
        addresses = fresh_addresses()
        for email in ("ada@example.com", "nobody@example.com"):
            statuses = [
                doors.login(next(addresses), WRONG, email).status_code for _ in range(ceiling)
            ]
            assert statuses == [401] * ceiling, email
            answers[email] = doors.login(next(addresses), PASSWORD, email)
    real, unknown = answers["ada@example.com"], answers["nobody@example.com"]
    assert_too_many(real, CEILING_WINDOW)
    assert real.status_code == unknown.status_code
    assert real.json() == unknown.json()
    assert real.headers["retry-after"] == unknown.headers["retry-after"]


def test_a_peer_without_an_address_is_still_limited(store_url: str, clock: Clock) -> None:
    config = settings_for(storage_url=store_url, auth_rate_limit_per_minute=3)
    app = app_for(config, clock=clock)
    # No client in the ASGI scope, as behind a Unix socket: all such peers share one key.
    with app.test_client(client=None) as client:
        credentials = {"email": "ada@example.com", "password": PASSWORD}
        wrong = {**credentials, "password": WRONG}
        assert client.post("/api/v1/auth/register", json=credentials).status_code == 201
        assert client.post("/api/v1/auth/login", json=credentials).status_code == 200
        assert client.post("/api/v1/auth/login", json=wrong).status_code == 401
        assert_too_many(client.post("/api/v1/auth/login", json=credentials), 60)
        for _ in range(MAX_FAILURES - 1):
            clock.advance(61)
            assert client.post("/api/v1/auth/login", json=wrong).status_code == 401
        # Its failures are counted under the shared key as well.
        refused = client.post("/api/v1/auth/login", json=credentials)
        assert_too_many(refused, FAILURE_WINDOW)
        assert int(refused.headers["retry-after"]) > 60  # the failure lock, not the minute
