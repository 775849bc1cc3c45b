"""POST /api/v1/auth/login."""

from __future__ import annotations

import jwt
import pytest

from tests.api_moves import PASSWORD, Api
from tests.backends import decided_before_the_store


def test_valid_credentials_get_a_token_pair(api: Api) -> None:
    user_id = api.register().json()["id"]
    response = api.login()
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 15 * 60
    assert body["refresh_expires_in"] == 7 * 86400
    access = jwt.decode(body["access_token"], options={"verify_signature": False})
    refresh = jwt.decode(body["refresh_token"], options={"verify_signature": False})
    assert access["sub"] == user_id
    assert access["type"] == "access"
    assert refresh["type"] == "refresh"
    assert access["sid"] == refresh["sid"]


def test_login_accepts_the_email_in_any_case_and_spacing(api: Api) -> None:
    api.register("ada@example.com")
    assert api.login("  ADA@example.com ").status_code == 200


def test_each_login_starts_its_own_session(api: Api) -> None:
    api.register()
    first, second = api.login().json(), api.login().json()
    sid = [
        jwt.decode(t["access_token"], options={"verify_signature": False})["sid"]
        for t in (first, second)
    ]
    assert sid[0] != sid[1]


def test_wrong_password_and_unknown_email_get_the_same_answer(api: Api) -> None:
    api.register()
    wrong_password = api.login("ada@example.com", "not the password")
    unknown_email = api.login("nobody@example.com", "not the password")
    assert wrong_password.status_code == unknown_email.status_code == 401
    assert wrong_password.json() == unknown_email.json()
    assert wrong_password.headers["www-authenticate"] == unknown_email.headers["www-authenticate"]
    assert wrong_password.headers["www-authenticate"].startswith('Bearer realm="')


@pytest.mark.parametrize("email", ["not-an-email", "a" * 300])
def test_malformed_email_at_login_is_a_plain_401(api: Api, email: str) -> None:
    assert api.login(email, PASSWORD).status_code == 401


def test_overlong_password_at_login_is_refused_without_a_server_error(api: Api) -> None:
    api.register()
    response = api.login("ada@example.com", "x" * 10_000)
    assert response.status_code in (400, 401)
    assert "x" * 100 not in response.text


def test_nul_only_password_at_login_does_not_match_an_empty_hash(api: Api) -> None:
    api.register("ada@example.com", "\x00" * 8)
    assert api.login("ada@example.com", "\x00" * 9).status_code == 401
    assert api.login("ada@example.com", "\x00" * 8).status_code == 200


@decided_before_the_store
def test_missing_password_is_a_400_naming_the_field(api: Api) -> None:
    response = api.client.post("/api/v1/auth/login", json={"email": "ada@example.com"})
    assert response.status_code == 400
    assert "password" in response.json()["detail"]
