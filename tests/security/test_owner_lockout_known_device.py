"""Strangers spending the account's ceiling cannot lock its owner out of a new network.

Failed logins from addresses an account never logged in from share a ceiling
(LOGIN_MAX_FAILURES_PER_ACCOUNT an hour). Five guesses from each of eleven addresses spend
it, and then the owner's phone, on a network it never used, got 429 with the right
password. A password login now answers a device token; a later login that presents it is
counted per device instead (OWASP "device cookies"). Any other token counts as none, and a
stolen one buys no more guesses than one address does.
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
from tests.backends import BACKENDS, decided_before_the_store, storage_url
from tests.clock import Clock
from tests.config import settings_for
from tests.token_clients import APP_ORIGIN, COOKIE, DEVICE_COOKIE, Browser, SetCookie

WRONG = "not the password at all"
NEW_PASSWORD = "a brand new passphrase nobody has"
MAX_FAILURES = 5  # LOGIN_MAX_FAILURES
DEFAULT_CEILING = 50  # LOGIN_MAX_FAILURES_PER_ACCOUNT
FAILURE_WINDOW = 900  # LOGIN_FAILURE_WINDOW_SECONDS
CEILING_WINDOW = 3600
PROXY = "10.0.0.1"
HOME = "192.0.2.10"  # where the owner logged in first, and got the device token
TWELFTH = "192.0.2.99"  # a network the owner's phone never used


@pytest.fixture(params=BACKENDS)
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    # Counters and credential versions are both in the store: try every one.
    with storage_url(request.param, tmp_path) as url:
        yield url


class Doors:
    """Logins of any account from any address, as a trusted proxy reports them."""

    def __init__(self, client: TestClient) -> None:
        self.client = client

    def login(
        self,
        address: str,
        password: str = PASSWORD,
        device_token: str | None = None,
        email: str = "ada@example.com",
    ) -> Any:
        body = {"email": email, "password": password}
        if device_token is not None:
            body["device_token"] = device_token
        return self.client.post(
            "/api/v1/auth/login", json=body, headers={"X-Forwarded-For": address}
        )

    def device_token(self, address: str = HOME, email: str = "ada@example.com") -> str:
        """Log in with the right password, and return the device token it answers."""
        response = self.login(address, email=email)
        assert response.status_code == 200, response.text
        token: str = response.json()["device_token"]
        return token

    def browser(self) -> Browser:
        return Browser(self.client)

    def strangers_spend_the_ceiling(self, addresses: int, email: str = "ada@example.com") -> None:
        """Guess from `addresses` addresses new to the account, five times each, as strangers do."""
        statuses = [
            self.login(f"203.0.113.{n}", WRONG, email=email).status_code
            for n in range(1, addresses + 1)
            for _ in range(MAX_FAILURES)
        ]
        assert statuses[-1] == 429, statuses

    def change_password(self, access_token: str, address: str = HOME) -> Any:
        return self.client.post(
            "/api/v1/auth/password",
            json={"current_password": PASSWORD, "new_password": NEW_PASSWORD},
            headers={"X-Forwarded-For": address, "Authorization": f"Bearer {access_token}"},
        )

    def logout_all(self, access_token: str, address: str = HOME) -> Any:
        return self.client.post(
            "/api/v1/auth/logout-all",
            headers={"X-Forwarded-For": address, "Authorization": f"Bearer {access_token}"},
        )


@contextmanager
def serving(store_url: str, clock: Clock, **settings: Any) -> Iterator[Doors]:
    """Serve an app behind a trusted proxy, with ada@ and bob@example.com registered."""
    config = settings_for(
        storage_url=store_url,
        trusted_proxies=("10.0.0.0/8",),
        cors_origins=(APP_ORIGIN,),
        **settings,
    )
    app = app_for(config, clock=clock)
    with app.test_client(client=(PROXY, 50000)) as client:
        for email in ("ada@example.com", "bob@example.com"):
            registered = client.post(
                "/api/v1/auth/register", json={"email": email, "password": PASSWORD}
            )
            assert registered.status_code == 201
        yield Doors(client)


def assert_too_many(response: Any, window: int) -> None:
    assert response.status_code == 429, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert 1 <= int(response.headers["retry-after"]) <= window


def test_the_owner_with_a_device_token_logs_in_past_the_ceiling_from_a_twelfth_address(
    store_url: str, clock: Clock
) -> None:
    with serving(store_url, clock) as doors:
        token = doors.device_token()
        doors.strangers_spend_the_ceiling(11)
        assert_too_many(doors.login(TWELFTH), CEILING_WINDOW)
        allowed = doors.login(TWELFTH, device_token=token)
        assert allowed.status_code == 200, allowed.text
        # The answer renews the token (the same device's), and the renewed one gets in too.
        renewed = allowed.json()["device_token"]
        assert doors.login("192.0.2.100", device_token=renewed).status_code == 200


def test_a_browser_with_its_device_cookie_logs_in_past_the_ceiling_from_a_twelfth_address(
    store_url: str, clock: Clock
) -> None:
    with serving(store_url, clock) as doors:
        phone = doors.browser()
        assert phone.login(**{"X-Forwarded-For": HOME}).status_code == 200
        device = SetCookie.of(phone.login(**{"X-Forwarded-For": HOME}), DEVICE_COOKIE)
        assert device is not None and phone.device_cookie == device.value
        assert device.attributes["path"] == "/api/v1/auth/browser"
        assert {"secure", "httponly"} <= set(device.attributes)
        assert device.attributes["samesite"].lower() == "strict"
        assert int(device.attributes["max-age"]) == 365 * 86400
        # A logout ends the session and leaves the device cookie where it is.
        logout = phone.logout()
        assert logout.status_code == 204
        assert SetCookie.of(logout, DEVICE_COOKIE) is None
        doors.strangers_spend_the_ceiling(11)
        assert_too_many(doors.browser().login(**{"X-Forwarded-For": TWELFTH}), CEILING_WINDOW)
        allowed = phone.login(**{"X-Forwarded-For": TWELFTH})
        assert allowed.status_code == 200, allowed.text
        assert "device_token" not in allowed.json()


def other_accounts(doors: Doors, clock: Clock) -> str:
    return doors.device_token(email="bob@example.com")


def forged(doors: Doors, clock: Clock) -> str:
    real = doors.device_token()
    body, _, mac = real.rpartition(".")
    return f"{body}.{mac[::-1]}"


def for_another_device_id(doors: Doors, clock: Clock) -> str:
    # The signature of one device's token under another device id.
    version, user, device, *rest = doors.device_token().split(".")
    return ".".join([version, user, device[::-1], *rest])


def expired(doors: Doors, clock: Clock) -> str:
    token = doors.device_token()
    clock.advance(86400)  # DEVICE_TOKEN_DAYS=1
    return token


def stale(doors: Doors, clock: Clock) -> str:
    # Given before a password change the owner made from another device.
    token = doors.device_token()
    laptop = doors.login("192.0.2.20").json()["access_token"]
    assert doors.change_password(laptop, "192.0.2.20").status_code == 200
    return token


def malformed(doors: Doors, clock: Clock) -> str:
    return "dt1.é☃.\x00" + "9" * 400


@pytest.mark.parametrize(
    "presented", [other_accounts, forged, for_another_device_id, expired, stale, malformed]
)
def test_any_token_but_a_valid_one_of_the_account_counts_as_none(
    store_url: str, clock: Clock, presented: Any
) -> None:
    ceiling = 8
    with serving(
        store_url, clock, login_max_failures_per_account=ceiling, device_token_days=1
    ) as doors:
        token = presented(doors, clock)
        password = NEW_PASSWORD if presented is stale else PASSWORD
        for n in range(1, ceiling + 1):
            assert doors.login(f"203.0.113.{n}", WRONG).status_code == 401
        without = doors.login(TWELFTH, password)
        refused = doors.login(TWELFTH, password, token)
        # Never an error: the same 429 as with no token at all.
        assert_too_many(without, CEILING_WINDOW)
        assert_too_many(refused, CEILING_WINDOW)
        assert refused.json() == without.json()


def test_an_unknown_email_with_a_device_token_is_refused_like_a_real_one(
    store_url: str, clock: Clock, bcrypt_calls: list[str]
) -> None:
    ceiling = 8
    answers = {}
    with serving(store_url, clock, login_max_failures_per_account=ceiling) as doors:
        token = doors.device_token()
        for email in ("bob@example.com", "nobody@example.com"):
            for n in range(1, ceiling + 1):
                assert doors.login(f"203.0.113.{n}", WRONG, email=email).status_code == 401
            checks = len(bcrypt_calls)
            answers[email] = doors.login(TWELFTH, PASSWORD, token, email)
            assert len(bcrypt_calls) == checks
    real, unknown = answers["bob@example.com"], answers["nobody@example.com"]
    assert_too_many(real, CEILING_WINDOW)
    assert (real.status_code, real.json()) == (unknown.status_code, unknown.json())
    assert real.headers["retry-after"] == unknown.headers["retry-after"]


def test_a_stolen_device_token_buys_a_few_guesses_per_window_from_any_address(
    store_url: str, clock: Clock, bcrypt_calls: list[str]
) -> None:
    with serving(store_url, clock) as doors:
        stolen = doors.device_token()
        statuses = [
            doors.login(f"198.51.100.{n}", WRONG, stolen).status_code
            for n in range(1, MAX_FAILURES + 1)
        ]
        assert statuses == [401] * MAX_FAILURES
        checks = len(bcrypt_calls)
        # Past its budget, from yet another address and even with the right password.
        assert_too_many(doors.login("198.51.100.200", PASSWORD, stolen), FAILURE_WINDOW)
        assert len(bcrypt_calls) == checks
        # The device's guesses spent nothing of the account's ceiling, nor of home's count.
        assert doors.login("203.0.113.1", WRONG).status_code == 401
        assert doors.login(HOME).status_code == 200
        clock.advance(FAILURE_WINDOW)
        assert doors.login("198.51.100.201", PASSWORD, stolen).status_code == 200


def test_a_right_login_with_a_device_token_takes_back_its_own_count_only(
    store_url: str, clock: Clock
) -> None:
    with serving(store_url, clock) as doors:
        token = doors.device_token()
        for _ in range(MAX_FAILURES - 1):
            assert doors.login(TWELFTH, WRONG, token).status_code == 401
        assert doors.login(TWELFTH, PASSWORD, token).status_code == 200
        # The device's failures before the success still count: one more, and it is done.
        assert doors.login(TWELFTH, WRONG, token).status_code == 401
        assert_too_many(doors.login(TWELFTH, PASSWORD, token), FAILURE_WINDOW)


@pytest.mark.parametrize("change", ["password", "logout_all"])
def test_a_credential_change_makes_every_other_device_a_stranger_and_keeps_the_callers(
    store_url: str, clock: Clock, change: str
) -> None:
    ceiling = 8
    with serving(store_url, clock, login_max_failures_per_account=ceiling) as doors:
        phone = doors.device_token()  # say, the phisher's
        laptop = doors.login("192.0.2.20")
        access_token = laptop.json()["access_token"]
        if change == "password":
            changed = doors.change_password(access_token, "192.0.2.20")
            password = NEW_PASSWORD
        else:
            changed = doors.logout_all(access_token, "192.0.2.20")
            password = PASSWORD
        assert changed.status_code == 200, changed.text
        assert changed.headers["cache-control"] == "no-store"
        renewed = changed.json()["device_token"]
        for n in range(1, ceiling + 1):
            assert doors.login(f"203.0.113.{n}", WRONG).status_code == 401
        assert_too_many(doors.login(TWELFTH, password, phone), CEILING_WINDOW)
        assert_too_many(doors.login(TWELFTH, password, laptop.json()["device_token"]), 3600)
        assert doors.login(TWELFTH, password, renewed).status_code == 200


@decided_before_the_store
def test_a_device_token_longer_than_512_bytes_in_the_body_is_a_bad_request(
    store_url: str, clock: Clock
) -> None:
    with serving(store_url, clock) as doors:
        token = doors.device_token()
        response = doors.login(TWELFTH, device_token=token + "x" * (513 - len(token)))
        assert response.status_code == 400
        assert response.headers["content-type"] == "application/problem+json"
        assert "device_token" in response.json()["detail"]
        assert token not in response.text


@pytest.mark.parametrize("split", [False, True])
def test_a_device_cookie_sent_twice_is_refused_and_both_cookies_are_cleared(
    store_url: str, clock: Clock, split: bool
) -> None:
    with serving(store_url, clock) as doors:
        phone = doors.browser()
        assert phone.login().status_code == 200
        real = phone.device_cookie
        planted = "planted-by-a-sibling-subdomain"
        cookies = (
            [("Cookie", f"{DEVICE_COOKIE}={planted}"), ("Cookie", f"{DEVICE_COOKIE}={real}")]
            if split
            else [("Cookie", f"{DEVICE_COOKIE}={planted}; {DEVICE_COOKIE}={real}")]
        )
        response = doors.client.post(
            "/api/v1/auth/browser/login",
            json={"email": "ada@example.com", "password": PASSWORD},
            headers=[("Origin", APP_ORIGIN), *cookies],
        )
        assert response.status_code == 400, response.text
        assert response.json()["detail"].startswith(f"Cookie: {DEVICE_COOKIE} is sent more")
        assert real is not None and real not in response.text and planted not in response.text
        cleared = {cookie.name: cookie for cookie in SetCookie.all_of(response)}
        assert set(cleared) == {COOKIE, DEVICE_COOKIE}
        for cookie in cleared.values():
            assert cookie.value == ""
            assert cookie.attributes["max-age"] == "0"
            assert cookie.attributes["path"] == "/api/v1/auth/browser"
            assert {"secure", "httponly"} <= set(cookie.attributes)
