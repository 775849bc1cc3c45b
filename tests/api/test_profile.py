"""GET /api/v1/protected/profile and the bearerAuth function."""

from __future__ import annotations

import time

import jwt
import pytest

from tests.api_moves import Api
from tests.backends import decided_before_the_store
from tests.forgery import forge


def test_valid_access_token_reads_the_profile(api: Api) -> None:
    user_id = api.register().json()["id"]
    account = api.account()
    response = api.profile(account.access_token)
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert body["id"] == user_id
    assert body["email"] == "ada@example.com"
    assert body["message"] == "This is protected data"
    assert body["created_at"].endswith("Z")


@decided_before_the_store
def test_missing_token_is_refused_with_a_bare_challenge(api: Api) -> None:
    response = api.client.get("/api/v1/protected/profile")
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["www-authenticate"] == 'Bearer realm="auth-api"'


@pytest.mark.parametrize(
    "authorization", ["Basic dXNlcjpwYXNz", "Token abc", "Bearer", "bearer", ""]
)
@decided_before_the_store
def test_non_bearer_authorization_is_refused(api: Api, authorization: str) -> None:
    response = api.client.get("/api/v1/protected/profile", headers={"Authorization": authorization})
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith('Bearer realm="auth-api"')


@decided_before_the_store
def test_invalid_token_is_refused_with_invalid_token_error(api: Api) -> None:
    response = api.profile("not.a.token")
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == 'Bearer realm="auth-api", error="invalid_token"'
    assert "not.a.token" not in response.text


@decided_before_the_store
def test_expired_token_is_refused(api: Api) -> None:
    account = api.account()
    claims = jwt.decode(account.access_token, options={"verify_signature": False})
    past = int(time.time()) - 3600
    expired = forge({**claims, "iat": past - 900, "exp": past})
    assert api.profile(expired).status_code == 401


@decided_before_the_store
def test_refresh_token_is_refused_as_access_token(api: Api) -> None:
    account = api.account()
    assert api.profile(account.refresh_token).status_code == 401


@decided_before_the_store
def test_token_forged_with_another_key_is_refused(api: Api) -> None:
    account = api.account()
    claims = jwt.decode(account.access_token, options={"verify_signature": False})
    forged = forge(claims, "another-key-that-is-also-32-bytes-long!!")
    assert api.profile(forged).status_code == 401


def test_token_of_an_unknown_session_is_refused(api: Api) -> None:
    account = api.account()
    claims = jwt.decode(account.access_token, options={"verify_signature": False})
    forged = forge({**claims, "sid": "made-up"})
    assert api.profile(forged).status_code == 401


def test_token_whose_subject_does_not_own_the_session_is_refused(api: Api) -> None:
    ada = api.account("ada@example.com")
    bob_id = api.register("bob@example.com").json()["id"]
    claims = jwt.decode(ada.access_token, options={"verify_signature": False})
    forged = forge({**claims, "sub": bob_id})
    assert api.profile(forged).status_code == 401


@decided_before_the_store
def test_oversized_token_is_refused_without_a_server_error(api: Api) -> None:
    assert api.profile("a" * 20_000).status_code in (400, 401, 431)
