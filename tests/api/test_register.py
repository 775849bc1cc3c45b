"""POST /api/v1/auth/register."""

from __future__ import annotations

import pytest

from tests.api_moves import PASSWORD, Api
from tests.backends import decided_before_the_store


def test_valid_registration_is_created(api: Api) -> None:
    response = api.register("ada@example.com")
    assert response.status_code == 201
    body = response.json()
    assert set(body) == {"id", "email", "message"}
    assert body["email"] == "ada@example.com"
    assert body["message"] == "User registered"


def test_registration_returns_the_normalized_email(api: Api) -> None:
    assert api.register("  Ada@Example.COM ").json()["email"] == "ada@example.com"


@pytest.mark.parametrize(
    "duplicate", ["ada@example.com", "ADA@example.com", "  ada@EXAMPLE.com\t", "ａｄａ@example.com"]
)
def test_duplicate_email_is_a_conflict(api: Api, duplicate: str) -> None:
    assert api.register("ada@example.com").status_code == 201
    response = api.register(duplicate, "another password")
    assert response.status_code == 409
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["status"] == 409


def test_duplicate_registration_keeps_the_original_password(api: Api) -> None:
    api.register("ada@example.com", PASSWORD)
    api.register("ada@example.com", "an attacker's password")
    assert api.login("ada@example.com", PASSWORD).status_code == 200
    assert api.login("ada@example.com", "an attacker's password").status_code == 401


@pytest.mark.parametrize(
    ("body", "field", "rule"),
    [
        ({"email": "not-an-email", "password": PASSWORD}, "email", "valid email"),
        ({"email": "ada@", "password": PASSWORD}, "email", "valid email"),
        ({"email": "a" * 255 + "@x.io", "password": PASSWORD}, "email", "at most 254"),
        ({"email": "ada@example.com", "password": "sh0rt!"}, "password", "at least 8"),
        ({"email": "ada@example.com", "password": "p" * 129}, "password", "at most 128"),
        ({"email": "ada@example.com", "password": 12345678}, "password", "type string"),
        ({"email": "ada@example.com"}, "password", "required"),
        ({"password": PASSWORD}, "email", "required"),
        ({"email": "ada@example.com", "password": PASSWORD, "admin": True}, "admin", "unknown"),
    ],
)
@decided_before_the_store
def test_invalid_registration_names_the_field_and_the_rule(
    api: Api, body: dict[str, object], field: str, rule: str
) -> None:
    response = api.client.post("/api/v1/auth/register", json=body)
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/problem+json"
    detail = response.json()["detail"]
    assert field in detail
    assert rule in detail


@pytest.mark.parametrize("password", ["sh0rt!", "p" * 129, "secret-that-is-long-enough\u0000" * 10])
@decided_before_the_store
def test_rejected_password_is_never_echoed(api: Api, password: str) -> None:
    response = api.register("ada@example.com", password)
    assert response.status_code == 400
    assert password not in response.text
    assert password[:6] not in response.text


@decided_before_the_store
def test_password_that_nfkc_shortens_below_the_minimum_is_refused(api: Api) -> None:
    # Eight code points as typed, four after normalization: e + combining acute → é.
    response = api.register("ada@example.com", "e\u0301" * 4)
    assert response.status_code == 400
    assert "at least 8" in response.json()["detail"]


def test_emoji_password_of_128_characters_registers_and_logs_in(api: Api) -> None:
    password = "😀" * 128
    assert api.register("ada@example.com", password).status_code == 201
    assert api.login("ada@example.com", password).status_code == 200


def test_long_passwords_differing_after_byte_72_do_not_both_log_in(api: Api) -> None:
    common = "a" * 100
    api.register("ada@example.com", common + "1")
    assert api.login("ada@example.com", common + "1").status_code == 200
    assert api.login("ada@example.com", common + "2").status_code == 401
