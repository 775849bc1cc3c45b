"""RFC 7662 introspection on every backend: who may ask, and what an active token says."""

from __future__ import annotations

import asyncio
import base64
import time

import httpx
import pytest
from starlette.testclient import TestClient

from tests.api_moves import Api
from tests.backends import decided_before_the_store
from tests.clock import Clock
from tests.config import SECRET
from tests.forgery import forge
from tests.token_clients import BROWSER_SETTINGS, RS_ID, RS_SECRET, basic, introspect

INACTIVE = {"active": False}


pytestmark = pytest.mark.settings(**BROWSER_SETTINGS, auth_rate_limit_per_minute=3)


def test_active_access_token_is_described_in_full(api: Api, client: TestClient) -> None:
    account = api.account()
    response = introspect(client, account.access_token)
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    answer = response.json()
    assert set(answer) == {
        *("active", "token_type", "sub", "sid", "exp", "iat", "iss", "aud", "jti"),
        *("acr", "amr", "auth_time"),
    }
    assert (answer["acr"], answer["amr"]) == ("aal1", ["pwd"])
    assert answer["auth_time"] == answer["iat"]
    assert answer["active"] is True
    assert answer["token_type"] == "access_token"
    assert answer["iss"] == "auth-api" and answer["aud"] == "auth-api"
    assert answer["exp"] - answer["iat"] == 15 * 60
    profile = api.profile(account.access_token).json()
    assert answer["sub"] == profile["id"]


@pytest.mark.parametrize("hint", [None, "refresh_token", "access_token", "something_else"])
def test_access_token_is_described_and_refresh_token_is_not_whatever_the_hint(
    api: Api, client: TestClient, hint: str | None
) -> None:
    account = api.account()
    assert introspect(client, account.refresh_token, hint).json() == INACTIVE
    access = introspect(client, account.access_token, hint).json()
    assert access["token_type"] == "access_token"


def test_logout_is_visible_through_introspection_at_once(api: Api, client: TestClient) -> None:
    account = api.account()
    assert introspect(client, account.access_token).json()["active"] is True
    assert api.logout(account.access_token).status_code == 204
    assert introspect(client, account.access_token).json() == INACTIVE
    assert introspect(client, account.refresh_token).json() == INACTIVE


def test_spent_refresh_token_is_inactive_even_within_the_grace_window(
    api: Api, client: TestClient
) -> None:
    account = api.account()
    rotated = api.refresh(account.refresh_token).json()
    assert introspect(client, account.refresh_token).json() == INACTIVE
    assert introspect(client, rotated["access_token"]).json()["active"] is True


def test_expired_session_makes_its_tokens_inactive(
    api: Api, client: TestClient, clock: Clock
) -> None:
    account = api.account()
    clock.advance(8 * 86400)
    assert introspect(client, account.refresh_token).json() == INACTIVE


@pytest.mark.parametrize(
    "token",
    [
        "garbage",
        "a.b.c",
        # Signed with another key under the server's kid.
        forge(
            {"sub": "u", "sid": "s", "jti": "j", "type": "access", "iat": 1, "exp": 2**40},
            key="another-secret-key-that-is-32-bytes-long!",
        ),
        # The server's own key, but long expired.
        forge(
            {
                "iss": "auth-api",
                "aud": "auth-api",
                "sub": "u",
                "sid": "s",
                "jti": "j",
                "type": "access",
                "iat": int(time.time()) - 7200,
                "exp": int(time.time()) - 3600,
            }
        ),
        # Perfectly signed, for a session that never existed.
        forge(
            {
                "iss": "auth-api",
                "aud": "auth-api",
                "sub": "u",
                "sid": "no-such-session",
                "jti": "j",
                "type": "access",
                "iat": int(time.time()),
                "exp": int(time.time()) + 600,
            },
            SECRET,
        ),
    ],
    ids=["garbage", "three-dots", "bad-signature", "expired", "unknown-session"],
)
def test_token_that_is_not_valid_right_now_is_inactive(client: TestClient, token: str) -> None:
    response = introspect(client, token)
    assert response.status_code == 200
    assert response.json() == INACTIVE
    assert response.headers["cache-control"] == "no-store"


@pytest.mark.parametrize(
    "headers",
    [
        {},
        basic(RS_ID, "wrong-secret"),
        basic("someone-else", RS_SECRET),
        basic(RS_ID, RS_SECRET + "x"),
        {"Authorization": "Basic not-base64!"},
        {"Authorization": "Basic " + base64.b64encode(b"no-colon").decode()},
    ],
    ids=["none", "wrong-secret", "unknown-client", "longer-secret", "garbage", "no-colon"],
)
def test_missing_or_wrong_client_credentials_get_a_basic_challenge(
    api: Api, client: TestClient, headers: dict[str, str]
) -> None:
    account = api.account()
    response = introspect(client, account.access_token, headers=headers)
    assert response.status_code == 401, response.text
    assert response.headers["www-authenticate"] == 'Basic realm="auth-api", charset="UTF-8"'
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["error"] == "invalid_client"
    assert "active" not in response.json()


def test_bearer_token_is_no_client_credential(api: Api, client: TestClient) -> None:
    account = api.account()
    response = introspect(client, account.access_token, headers=account.headers)
    assert response.status_code == 401


def test_failed_client_authentication_is_throttled_per_address_right_secret_included(
    api: Api, client: TestClient, clock: Clock
) -> None:
    account = api.account()
    for _ in range(3):
        assert (
            introspect(client, account.access_token, headers=basic(secret="guess")).status_code
            == 401
        )
    throttled = introspect(client, account.access_token, headers=basic(secret="guess"))
    assert throttled.status_code == 429
    assert throttled.json()["error"] == "temporarily_unavailable"
    assert int(throttled.headers["retry-after"]) >= 1
    # Past the limit the right secret is refused too, or the limit would slow nothing down.
    assert introspect(client, account.access_token).status_code == 429
    clock.advance(61)
    assert introspect(client, account.access_token).json()["active"] is True


def test_successful_introspections_are_not_throttled(api: Api, client: TestClient) -> None:
    account = api.account()
    for _ in range(10):
        assert introspect(client, account.access_token).json()["active"] is True


@pytest.mark.parametrize(
    ("body", "content_type", "status", "named"),
    [
        (b"", "application/x-www-form-urlencoded", 400, ""),
        (b"token_type_hint=access_token", "application/x-www-form-urlencoded", 400, "token:"),
        (b"token=", "application/x-www-form-urlencoded", 400, "token:"),
        (b"token=a&token=b", "application/x-www-form-urlencoded", 400, "token:"),
        (b"token=%FF", "application/x-www-form-urlencoded", 400, "body:"),
        (b'{"token": "a"}', "application/json", 415, ""),
    ],
    ids=["empty", "no-token", "empty-token", "repeated", "not-utf8", "json"],
)
@decided_before_the_store
def test_bad_request_is_a_problem_with_the_oauth_error_code(
    client: TestClient, body: bytes, content_type: str, status: int, named: str
) -> None:
    response = client.post(
        "/api/v1/auth/introspect",
        content=body,
        headers={**basic(), "Content-Type": content_type},
    )
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["error"] == "invalid_request"
    assert problem["detail"].startswith(named)


async def test_a_burst_of_parallel_guesses_gets_no_more_answers_than_the_limit(
    async_client: httpx.AsyncClient,
) -> None:
    # Twelve wrong secrets in flight at once; the limit is three per minute.
    responses = await asyncio.gather(
        *(
            async_client.post(
                "/api/v1/auth/introspect", data={"token": "x"}, headers=basic(secret=f"guess-{n}")
            )
            for n in range(12)
        )
    )
    statuses = sorted(response.status_code for response in responses)
    assert statuses == [401] * 3 + [429] * 9, statuses
    # Past the limit, the right secret is refused too.
    right = await async_client.post("/api/v1/auth/introspect", data={"token": "x"}, headers=basic())
    assert right.status_code == 429
