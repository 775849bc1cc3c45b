"""Brute force: a lock per account and address before any bcrypt work, per-address limits,
spoofed addresses. What strangers at other addresses cannot do is in test_owner_lockout.py,
and guesses sent in parallel are in test_parallel_guessing.py.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from tests.api_moves import PASSWORD, Api
from tests.apps import app_for
from tests.clock import Clock
from tests.config import settings_for

WRONG = "not the password at all"
MAX_FAILURES = 5  # LOGIN_MAX_FAILURES
FAILURE_WINDOW = 900  # LOGIN_FAILURE_WINDOW_SECONDS


@contextmanager
def serving(clock: Clock, peer: str = "192.0.2.10", **settings: Any) -> Iterator[Api]:
    """Serve an app with these settings to a client whose socket peer is `peer`."""
    app = app_for(settings_for(**settings), clock=clock)
    with app.test_client(client=(peer, 50000)) as client:
        yield Api(client)


def assert_too_many(response: Any, window: int) -> None:
    assert response.status_code == 429, response.text
    assert response.headers["content-type"] == "application/problem+json"
    retry_after = response.headers["retry-after"]
    assert retry_after.isdigit(), retry_after
    assert 1 <= int(retry_after) <= window


# -- the lock on an account from one address --------------------------------------------


def test_sixth_login_after_five_failures_is_429_even_with_the_right_password(
    api: Api, bcrypt_calls: list[str]
) -> None:
    api.register()
    for _ in range(MAX_FAILURES):
        assert api.login(password=WRONG).status_code == 401
    assert len(bcrypt_calls) == MAX_FAILURES
    assert_too_many(api.login(password=PASSWORD), FAILURE_WINDOW)
    assert_too_many(api.login(password=WRONG), FAILURE_WINDOW)
    # Refused before any bcrypt work: a locked account costs the server nothing.
    assert len(bcrypt_calls) == MAX_FAILURES


@pytest.mark.parametrize(
    "spelling", ["ADA@EXAMPLE.COM", "  ada@example.com ", "ａｄａ@example.com", "Ada@Example.com"]
)
def test_account_lock_cannot_be_dodged_with_a_look_alike_email(api: Api, spelling: str) -> None:
    api.register()
    for _ in range(MAX_FAILURES):
        api.login(password=WRONG)
    assert_too_many(api.login(spelling, PASSWORD), FAILURE_WINDOW)


def test_account_lock_ends_when_the_failure_window_passes(api: Api, clock: Clock) -> None:
    api.register()
    for _ in range(MAX_FAILURES):
        api.login(password=WRONG)
    assert_too_many(api.login(), FAILURE_WINDOW)
    clock.advance(FAILURE_WINDOW + 1)
    assert api.login().status_code == 200


def test_account_lock_does_not_lock_other_accounts(api: Api) -> None:
    api.register()
    api.register("bob@example.com")
    for _ in range(MAX_FAILURES):
        api.login(password=WRONG)
    assert api.login("bob@example.com").status_code == 200


def test_guessing_the_current_password_at_password_change_is_throttled(api: Api) -> None:
    account = api.account()
    change = {"current_password": WRONG, "new_password": "a brand new passphrase"}
    for _ in range(MAX_FAILURES):
        response = api.client.post("/api/v1/auth/password", headers=account.headers, json=change)
        assert response.status_code == 403
    right = {**change, "current_password": PASSWORD}
    response = api.client.post("/api/v1/auth/password", headers=account.headers, json=right)
    assert_too_many(response, FAILURE_WINDOW)


def test_password_change_and_login_guesses_share_one_count(api: Api) -> None:
    account = api.account()
    change = {"current_password": WRONG, "new_password": "a brand new passphrase"}
    for _ in range(MAX_FAILURES - 2):
        assert api.login(password=WRONG).status_code == 401
    for _ in range(2):
        response = api.client.post("/api/v1/auth/password", headers=account.headers, json=change)
        assert response.status_code == 403
    assert_too_many(api.login(), FAILURE_WINDOW)


# -- the per-address limit -----------------------------------------------------------------


def register_other(api: Api) -> Any:
    return api.register("bob@example.com")


def login(api: Api) -> Any:
    return api.login()


@pytest.mark.parametrize("fourth", [register_other, login], ids=["register", "login"])
def test_fourth_attempt_from_one_address_in_a_minute_is_429(
    clock: Clock, fourth: Callable[[Api], Any]
) -> None:
    with serving(clock, auth_rate_limit_per_minute=3) as api:
        assert api.register().status_code == 201
        assert api.login().status_code == 200
        assert api.login(password=WRONG).status_code == 401
        assert_too_many(fourth(api), 60)


def test_address_limit_ends_after_a_minute(clock: Clock) -> None:
    with serving(clock, auth_rate_limit_per_minute=3) as api:
        api.register()
        api.login()
        api.login()
        assert_too_many(api.login(), 60)
        clock.advance(61)
        assert api.login().status_code == 200


def test_zero_disables_both_limits(clock: Clock) -> None:
    with serving(clock, auth_rate_limit_per_minute=0, login_max_failures=0) as api:
        api.register()
        for _ in range(12):
            assert api.login(password=WRONG).status_code == 401
        assert api.login().status_code == 200


# -- spoofed client addresses --------------------------------------------------------------


def logins_from(api: Api, forwarded_for: list[str]) -> list[int]:
    statuses = []
    for hop in forwarded_for:
        response = api.client.post(
            "/api/v1/auth/login",
            json={"email": "ada@example.com", "password": PASSWORD},
            headers={"X-Forwarded-For": hop},
        )
        statuses.append(response.status_code)
    return statuses


SPOOFED = ["198.51.100.1", "198.51.100.2", "198.51.100.3", "198.51.100.4", "198.51.100.5"]


@pytest.mark.parametrize(
    ("peer", "trusted"),
    [("203.0.113.7", ()), ("203.0.113.7", ("10.0.0.0/8",))],
    ids=["no-trusted-proxies", "peer-not-trusted"],
)
def test_x_forwarded_for_from_an_untrusted_peer_is_ignored(
    clock: Clock, peer: str, trusted: tuple[str, ...]
) -> None:
    with serving(clock, peer, auth_rate_limit_per_minute=3, trusted_proxies=trusted) as api:
        api.client.post(
            "/api/v1/auth/register", json={"email": "ada@example.com", "password": PASSWORD}
        )
        assert logins_from(api, SPOOFED) == [200, 200, 429, 429, 429]


def test_x_forwarded_for_from_a_trusted_proxy_names_the_client(clock: Clock) -> None:
    trusted = ("10.0.0.0/8",)
    with serving(clock, "10.0.0.1", auth_rate_limit_per_minute=3, trusted_proxies=trusted) as api:
        api.client.post(
            "/api/v1/auth/register",
            json={"email": "ada@example.com", "password": PASSWORD},
            headers={"X-Forwarded-For": "192.0.2.1"},
        )
        # Each login comes from another client behind the proxy: none is over its limit.
        assert logins_from(api, SPOOFED) == [200] * len(SPOOFED)
        sessions = api.client.get(
            "/api/v1/auth/sessions",
            headers={"Authorization": f"Bearer {api.login().json()['access_token']}"},
        )
        assert {item["client_ip"] for item in sessions.json()["items"]} >= set(SPOOFED)


def test_hops_prepended_by_the_client_do_not_change_its_address(clock: Clock) -> None:
    trusted = ("10.0.0.0/8",)
    with serving(clock, "10.0.0.1", auth_rate_limit_per_minute=3, trusted_proxies=trusted) as api:
        api.client.post(
            "/api/v1/auth/register",
            json={"email": "ada@example.com", "password": PASSWORD},
            headers={"X-Forwarded-For": "192.0.2.9"},
        )
        # The proxy appends the real client; whatever the client wrote before it is ignored.
        forged_chains = [f"{spoof}, 192.0.2.9" for spoof in SPOOFED]
        assert logins_from(api, forged_chains) == [200, 200, 429, 429, 429]


def test_garbage_x_forwarded_for_from_a_trusted_proxy_falls_back_to_the_peer(
    clock: Clock,
) -> None:
    trusted = ("10.0.0.0/8",)
    with serving(clock, "10.0.0.1", auth_rate_limit_per_minute=3, trusted_proxies=trusted) as api:
        api.client.post(
            "/api/v1/auth/register",
            json={"email": "ada@example.com", "password": PASSWORD},
            headers={"X-Forwarded-For": "not-an-address"},
        )
        garbage = ["not-an-address", "", "unknown", "300.1.1.1", "::zz"]
        assert logins_from(api, garbage) == [200, 200, 429, 429, 429]
