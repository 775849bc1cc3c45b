"""POST /api/v1/auth/logout: revocation at once, not at expiry."""

from __future__ import annotations

from tests.api_moves import Api
from tests.backends import decided_before_the_store


def test_logout_revokes_both_tokens_of_the_session_at_once(api: Api) -> None:
    account = api.account()
    response = api.logout(account.access_token)
    assert response.status_code == 204
    assert response.content == b""
    assert api.profile(account.access_token).status_code == 401
    assert api.refresh(account.refresh_token).status_code == 401


def test_logout_revokes_access_tokens_issued_by_refresh_too(api: Api) -> None:
    account = api.account()
    rotated = api.refresh(account.refresh_token).json()
    api.logout(account.access_token)
    assert api.profile(rotated["access_token"]).status_code == 401
    assert api.refresh(rotated["refresh_token"]).status_code == 401


def test_logout_leaves_the_users_other_sessions_alone(api: Api) -> None:
    phone, laptop = api.account(), api.account()
    api.logout(phone.access_token)
    assert api.profile(laptop.access_token).status_code == 200


def test_logout_with_a_refresh_token_of_another_own_session_ends_it_too(api: Api) -> None:
    phone, laptop = api.account(), api.account()
    assert (
        api.logout(phone.access_token, {"refresh_token": laptop.refresh_token}).status_code == 204
    )
    assert api.profile(laptop.access_token).status_code == 401


def test_logout_ignores_a_refresh_token_of_another_user(api: Api) -> None:
    ada, bob = api.account("ada@example.com"), api.account("bob@example.com")
    assert api.logout(ada.access_token, {"refresh_token": bob.refresh_token}).status_code == 204
    assert api.profile(bob.access_token).status_code == 200


def test_logout_ignores_an_invalid_refresh_token(api: Api) -> None:
    account = api.account()
    assert api.logout(account.access_token, {"refresh_token": "junk"}).status_code == 204
    assert api.profile(account.access_token).status_code == 401


def test_logout_twice_is_refused_the_second_time(api: Api) -> None:
    account = api.account()
    api.logout(account.access_token)
    assert api.logout(account.access_token).status_code == 401


@decided_before_the_store
def test_logout_without_a_token_is_unauthenticated(api: Api) -> None:
    response = api.client.post("/api/v1/auth/logout")
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == 'Bearer realm="auth-api"'


@decided_before_the_store
def test_logout_with_a_refresh_token_as_bearer_is_refused(api: Api) -> None:
    account = api.account()
    assert api.logout(account.refresh_token).status_code == 401
    assert api.profile(account.access_token).status_code == 200


@decided_before_the_store
def test_logout_with_a_json_null_body_is_a_400_and_ends_nothing(api: Api) -> None:
    account = api.account()
    response = api.client.post(
        "/api/v1/auth/logout",
        headers={**account.headers, "Content-Type": "application/json"},
        content=b"null",
    )
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/problem+json"
    assert api.profile(account.access_token).status_code == 200
