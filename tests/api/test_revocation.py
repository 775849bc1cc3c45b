"""RFC 7009 revocation on every backend: any holder of a token can end its session."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from tests.api_moves import Api
from tests.backends import decided_before_the_store
from tests.clock import Clock
from tests.forgery import forge
from tests.token_clients import BROWSER_SETTINGS, introspect, revoke

pytestmark = pytest.mark.settings(**BROWSER_SETTINGS, auth_rate_limit_per_minute=5)


@pytest.mark.parametrize("kind", ["access_token", "refresh_token"])
@pytest.mark.parametrize("hint", [None, "access_token", "refresh_token"])
def test_revoking_an_access_or_refresh_token_ends_its_session(
    api: Api, client: TestClient, kind: str, hint: str | None
) -> None:
    account = api.account()
    other_device = api.account()
    token = getattr(account, kind)
    response = revoke(client, token, hint)
    assert response.status_code == 200
    assert response.content == b""
    assert response.headers["cache-control"] == "no-store"
    assert api.profile(account.access_token).status_code == 401
    assert api.refresh(account.refresh_token).status_code == 401
    assert introspect(client, account.access_token).json() == {"active": False}
    # Only that session: the same user's other login lives on.
    assert api.profile(other_device.access_token).status_code == 200


def test_a_client_holding_only_a_refresh_token_can_end_its_session(
    api: Api, client: TestClient
) -> None:
    account = api.account()
    rotated = api.refresh(account.refresh_token).json()
    assert revoke(client, rotated["refresh_token"]).status_code == 200
    assert api.profile(rotated["access_token"]).status_code == 401


@pytest.mark.parametrize(
    "token",
    [
        "garbage",
        forge({"sub": "u", "sid": "s", "jti": "j", "type": "access", "iat": 1, "exp": 2})
        + "tampered",
    ],
    ids=["garbage", "tampered"],
)
@decided_before_the_store
def test_any_other_token_gets_200_and_ends_nothing(
    api: Api, client: TestClient, token: str
) -> None:
    account = api.account()
    response = revoke(client, token)
    assert response.status_code == 200
    assert api.profile(account.access_token).status_code == 200


def test_revoking_twice_is_200_both_times(api: Api, client: TestClient) -> None:
    account = api.account()
    assert revoke(client, account.access_token).status_code == 200
    assert revoke(client, account.access_token).status_code == 200


def test_revocation_is_limited_per_address(api: Api, client: TestClient, clock: Clock) -> None:
    account = api.account()
    # The account's registration and login used two of the address's five attempts.
    for _ in range(3):
        assert revoke(client, "garbage").status_code == 200
    throttled = revoke(client, account.access_token)
    assert throttled.status_code == 429
    assert throttled.headers["content-type"] == "application/problem+json"
    assert throttled.json()["error"] == "temporarily_unavailable"
    assert api.profile(account.access_token).status_code == 200
    clock.advance(61)
    assert revoke(client, account.access_token).status_code == 200
    assert api.profile(account.access_token).status_code == 401


@pytest.mark.parametrize(
    ("body", "named"),
    [
        (b"", ""),
        (b"hint=access_token", "token:"),
        (b"token=&token_type_hint=access_token", "token:"),
        (b"token=a&token=b", "token:"),
        (b"token=a&token_type_hint=" + b"x" * 65, "token_type_hint:"),
    ],
    ids=["empty", "no-token", "empty-token", "repeated", "long-hint"],
)
@decided_before_the_store
def test_bad_form_is_a_400_problem_with_invalid_request(
    client: TestClient, body: bytes, named: str
) -> None:
    response = client.post(
        "/api/v1/auth/revoke",
        content=body,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 400, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["error"] == "invalid_request"
    assert problem["detail"].startswith(named)
    assert "x" * 65 not in response.text


def test_unknown_parameters_are_ignored(api: Api, client: TestClient) -> None:
    account = api.account()
    response = client.post(
        "/api/v1/auth/revoke", data={"token": account.access_token, "client_id": "spa"}
    )
    assert response.status_code == 200
    assert api.profile(account.access_token).status_code == 401


def test_unknown_parameters_given_twice_are_ignored_too(api: Api, client: TestClient) -> None:
    account = api.account()
    # Found by schemathesis: any extra parameter is allowed, and so is any repetition of it.
    body = f"x=1&x=2&%F0%9F%94%91=&token={account.access_token}".encode()
    response = client.post(
        "/api/v1/auth/revoke",
        content=body,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 200, response.text
    assert api.profile(account.access_token).status_code == 401
