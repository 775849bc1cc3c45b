"""The `passkeys` tag end to end, on the memory store: add, list, rename, remove, log in."""

from __future__ import annotations

from collections.abc import Iterator

import jwt
import pytest
from starlette.testclient import TestClient

from tests.clock import Clock
from tests.mfa_moves import bearer, start_at_a_step
from tests.passkey_moves import PASSKEYS, PasskeyApi
from tooling.soft_authenticator import SoftAuthenticator, unb64url


@pytest.fixture
def store_url() -> Iterator[str]:
    yield "memory://"


@pytest.fixture
def pk(client: TestClient, clock: Clock) -> PasskeyApi:
    start_at_a_step(clock)
    return PasskeyApi(client, clock)


def claims(access_token: str) -> dict[str, object]:
    decoded: dict[str, object] = jwt.decode(access_token, options={"verify_signature": False})
    return decoded


def test_smoke(pk: PasskeyApi) -> None:
    account = pk.account()
    options = pk.registration_options(account.access_token)
    print(options.json())
    added = pk.register_passkey(account.access_token)
    print(added.status_code, added.json())
    login = pk.passkey_login()
    print(login.status_code, login.json())
    print(claims(login.json()["access_token"]))
    print(pk.login().json())
