"""Guessing between one's own successes: a success takes back its own count, nothing more.

A success used to clear its whole count, so whoever holds one client's secret (or shares an
address with an account's owner) could guess on without limit, one success between guesses.
Now a success takes back only the hit it added, in the window that counted it, so the
failures of everyone else at the same address still add up, on every store.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from authapi.settings import Settings
from authapi.web.app import create_app
from tests.api_moves import PASSWORD, Api
from tests.backends import BACKENDS, storage_url
from tests.clock import Clock
from tests.config import CHEAP_HASHING, SECRET
from tests.token_clients import RS_ID, RS_SECRET, basic, browser_settings, introspect

PER_MINUTE = 60  # AUTH_RATE_LIMIT_PER_MINUTE's default
MAX_FAILURES = 5  # LOGIN_MAX_FAILURES
OTHER_ID = "billing-service"
OTHER_SECRET = "another-resource-server-secret-32-bytes"
WRONG = "not the password at all"


@pytest.fixture(params=BACKENDS)
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    # The counters live in the store: the take-back must be right in every one.
    with storage_url(request.param, tmp_path) as url:
        yield url


@pytest.fixture
def settings(store_url: str) -> Settings:
    # Per minute and address, this limit also counts every login; 60 keeps it out of the way
    # of the login tests, and the client test makes as many guesses as it takes.
    return browser_settings(
        store_url, introspection_clients=((RS_ID, RS_SECRET), (OTHER_ID, OTHER_SECRET))
    )


def test_one_clients_successes_never_reset_the_guesses_at_another_client(
    api: Api, client: TestClient
) -> None:
    token = api.account().access_token
    wrong = basic(OTHER_ID, "a guess at billing's secret")
    statuses = []
    for _ in range(PER_MINUTE):
        assert introspect(client, token).json()["active"] is True
        statuses.append(introspect(client, token, headers=wrong).status_code)
    assert statuses == [401] * PER_MINUTE
    # The guesses add up whatever succeeded between them: the address is done guessing,
    # and past the limit it is refused, the right secret included.
    assert introspect(client, token).status_code == 429
    assert introspect(client, token, headers=wrong).status_code == 429


def guess_at_login(api: Api, account: Any) -> int:
    return int(api.login(account.email, WRONG).status_code)


def guess_at_password_change(api: Api, account: Any) -> int:
    change = {"current_password": WRONG, "new_password": "a brand new passphrase"}
    response = api.client.post("/api/v1/auth/password", headers=account.headers, json=change)
    return int(response.status_code)


@pytest.mark.parametrize(
    ("guess", "wrong"),
    [(guess_at_login, 401), (guess_at_password_change, 403)],
    ids=["login", "password-change"],
)
def test_an_owners_logins_never_reset_the_guesses_from_her_shared_address(
    api: Api, guess: Any, wrong: int
) -> None:
    # The owner and a guesser behind one address (an office, a carrier's NAT).
    owner = api.account()
    statuses = []
    for _ in range(MAX_FAILURES):
        assert api.login().status_code == 200
        statuses.append(guess(api, owner))
    assert statuses == [wrong] * MAX_FAILURES
    # The failures add up whatever succeeded between them: the address is done guessing.
    assert api.login().status_code == 429
    assert guess(api, owner) == 429


def test_an_owner_logging_in_from_new_addresses_never_uses_up_the_account_ceiling(
    store_url: str, clock: Clock
) -> None:
    ceiling = 3
    config = Settings(
        jwt_secret_key=SECRET,
        **CHEAP_HASHING,
        storage_url=store_url,
        trusted_proxies=("10.0.0.0/8",),
        login_max_failures_per_account=ceiling,
    )
    app = create_app(config, validate_responses=True, clock=clock)
    credentials = {"email": "ada@example.com", "password": PASSWORD}
    with app.test_client(client=("10.0.0.1", 50000)) as client:
        assert client.post("/api/v1/auth/register", json=credentials).status_code == 201

        def login_from(address: str, password: str = PASSWORD) -> int:
            response = client.post(
                "/api/v1/auth/login",
                json={**credentials, "password": password},
                headers={"X-Forwarded-For": address},
            )
            return int(response.status_code)

        # A traveller: each login from an address the account has never used.
        travels = [login_from(f"203.0.113.{n}") for n in range(1, 2 * ceiling + 1)]
        assert travels == [200] * (2 * ceiling)
        # The ceiling is whole for strangers at new addresses, and no more than whole.
        guesses = [login_from(f"198.51.100.{n}", WRONG) for n in range(1, ceiling + 2)]
        assert guesses == [401] * ceiling + [429]
