"""A credential change forgets what the attacker learned: the addresses the account knew.

An address the account has logged in from is exempt from the per-account ceiling of
failures. A phisher who logged in once with a stolen password made their address such a
one; after the owner changes the password, or logs out everywhere, it must be a stranger's
again, or it keeps its own budget of guesses at the new password. The owner's own address,
the one the change came from, stays known.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from authapi.settings import Settings
from authapi.web.app import create_app
from tests.api_moves import PASSWORD
from tests.backends import BACKENDS, storage_url
from tests.clock import Clock
from tests.config import SECRET

NEW_PASSWORD = "a brand new passphrase nobody has"
WRONG = "not the password at all"
CEILING = 8  # LOGIN_MAX_FAILURES_PER_ACCOUNT
PROXY = "10.0.0.1"
HOME = "192.0.2.10"  # the owner's
PHISHER = "198.51.100.66"  # logged in once with the phished password


@pytest.fixture(params=BACKENDS)
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    # Known addresses live in the store, and are forgotten in its credential change.
    with storage_url(request.param, tmp_path) as url:
        yield url


class Owner:
    """ada@example.com's account, reached from any address through a trusted proxy."""

    def __init__(self, client: TestClient) -> None:
        self.client = client

    def login(self, address: str, password: str) -> Any:
        return self.client.post(
            "/api/v1/auth/login",
            json={"email": "ada@example.com", "password": password},
            headers={"X-Forwarded-For": address},
        )

    def change_password(self, address: str, access_token: str) -> Any:
        return self.client.post(
            "/api/v1/auth/password",
            json={"current_password": PASSWORD, "new_password": NEW_PASSWORD},
            headers={"X-Forwarded-For": address, "Authorization": f"Bearer {access_token}"},
        )

    def logout_all(self, address: str, access_token: str) -> Any:
        return self.client.post(
            "/api/v1/auth/logout-all",
            headers={"X-Forwarded-For": address, "Authorization": f"Bearer {access_token}"},
        )

    def exhaust_the_ceiling(self) -> None:
        """Spend the account's ceiling from addresses it never saw, as strangers do."""
        statuses = [self.login(f"203.0.113.{n}", WRONG).status_code for n in range(1, CEILING + 2)]
        assert statuses[-1] == 429, statuses


@contextmanager
def phished(store_url: str, clock: Clock) -> Iterator[tuple[Owner, str]]:
    """Ada logged in at home, and a phisher logged in once with her password elsewhere."""
    config = Settings(
        jwt_secret_key=SECRET,
        bcrypt_rounds=4,
        storage_url=store_url,
        trusted_proxies=("10.0.0.0/8",),
        login_max_failures_per_account=CEILING,
    )
    app = create_app(config, validate_responses=True, clock=clock)
    with app.test_client(client=(PROXY, 50000)) as client:
        registered = client.post(
            "/api/v1/auth/register", json={"email": "ada@example.com", "password": PASSWORD}
        )
        assert registered.status_code == 201
        owner = Owner(client)
        home = owner.login(HOME, PASSWORD)
        assert home.status_code == 200
        assert owner.login(PHISHER, PASSWORD).status_code == 200
        yield owner, home.json()["access_token"]


def test_a_phishers_address_is_a_strangers_again_after_the_password_change(
    store_url: str, clock: Clock
) -> None:
    with phished(store_url, clock) as (owner, access_token):
        assert owner.change_password(HOME, access_token).status_code == 200
        owner.exhaust_the_ceiling()
        refused = owner.login(PHISHER, WRONG)
        assert refused.status_code == 429, refused.text
        # The owner's address, where the change came from, is still hers.
        assert owner.login(HOME, WRONG).status_code == 401
        assert owner.login(HOME, NEW_PASSWORD).status_code == 200


def test_a_phishers_address_is_a_strangers_again_after_logout_all(
    store_url: str, clock: Clock
) -> None:
    with phished(store_url, clock) as (owner, access_token):
        assert owner.logout_all(HOME, access_token).status_code == 200
        owner.exhaust_the_ceiling()
        refused = owner.login(PHISHER, WRONG)
        assert refused.status_code == 429, refused.text
        assert owner.login(HOME, WRONG).status_code == 401
        assert owner.login(HOME, PASSWORD).status_code == 200


def test_without_a_credential_change_the_address_stays_known(store_url: str, clock: Clock) -> None:
    # The control: the exemption itself is as it was.
    with phished(store_url, clock) as (owner, _):
        owner.exhaust_the_ceiling()
        assert owner.login(PHISHER, WRONG).status_code == 401
