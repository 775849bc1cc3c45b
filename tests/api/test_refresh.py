"""POST /api/v1/auth/refresh: rotation, reuse detection and the grace window."""

from __future__ import annotations

import jwt
import pytest

from tests.api_moves import Api
from tests.backends import decided_before_the_store
from tests.clock import Clock


def sid_of(token: str) -> str:
    return jwt.decode(token, options={"verify_signature": False})["sid"]


def test_valid_refresh_token_gets_a_new_pair_for_the_same_session(api: Api) -> None:
    account = api.account()
    response = api.refresh(account.refresh_token)
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    pair = response.json()
    assert pair["refresh_token"] != account.refresh_token
    assert pair["access_token"] != account.access_token
    assert sid_of(pair["access_token"]) == sid_of(account.access_token)
    assert api.profile(pair["access_token"]).status_code == 200


def test_rotation_does_not_extend_the_session(api: Api, clock: Clock) -> None:
    account = api.account()
    first_exp = jwt.decode(account.refresh_token, options={"verify_signature": False})["exp"]
    clock.advance(20)
    pair = api.refresh(account.refresh_token).json()
    assert (
        jwt.decode(pair["refresh_token"], options={"verify_signature": False})["exp"] == first_exp
    )
    assert pair["refresh_expires_in"] == 7 * 86400 - 20


def test_spent_refresh_token_within_the_grace_window_is_refused_but_the_session_lives(
    api: Api, clock: Clock
) -> None:
    account = api.account()
    newest = api.refresh(account.refresh_token).json()
    clock.advance(5)
    reuse = api.refresh(account.refresh_token)
    assert reuse.status_code == 401
    assert reuse.headers["www-authenticate"] == 'Bearer realm="auth-api", error="invalid_token"'
    assert api.profile(newest["access_token"]).status_code == 200
    assert api.refresh(newest["refresh_token"]).status_code == 200


def test_spent_refresh_token_after_the_grace_window_revokes_the_whole_session(
    api: Api, clock: Clock
) -> None:
    account = api.account()
    newest = api.refresh(account.refresh_token).json()
    clock.advance(11)
    assert api.refresh(account.refresh_token).status_code == 401
    assert api.refresh(newest["refresh_token"]).status_code == 401
    assert api.profile(newest["access_token"]).status_code == 401
    assert api.profile(account.access_token).status_code == 401


def test_reuse_of_an_older_generation_revokes_the_session(api: Api, clock: Clock) -> None:
    account = api.account()
    second = api.refresh(account.refresh_token).json()
    third = api.refresh(second["refresh_token"]).json()
    assert api.refresh(account.refresh_token).status_code == 401
    assert api.refresh(third["refresh_token"]).status_code == 401


def test_reuse_revokes_only_the_session_it_belongs_to(api: Api, clock: Clock) -> None:
    stolen, other = api.account(), api.account()
    api.refresh(stolen.refresh_token)
    clock.advance(11)
    api.refresh(stolen.refresh_token)
    assert api.profile(other.access_token).status_code == 200


@decided_before_the_store
def test_access_token_is_refused_as_refresh_token(api: Api) -> None:
    account = api.account()
    assert api.refresh(account.access_token).status_code == 401


@decided_before_the_store
def test_garbage_refresh_token_is_refused(api: Api) -> None:
    response = api.refresh("garbage")
    assert response.status_code == 401
    assert "garbage" not in response.text


def test_expired_session_cannot_refresh(api: Api, clock: Clock) -> None:
    account = api.account()
    clock.advance(7 * 86400 + 1)
    # PyJWT checks expiry against the real clock, so only the session's end can refuse here.
    assert api.refresh(account.refresh_token).status_code == 401


@decided_before_the_store
def test_missing_refresh_token_is_a_400(api: Api) -> None:
    response = api.client.post("/api/v1/auth/refresh", json={})
    assert response.status_code == 400
    assert "refresh_token" in response.json()["detail"]


@pytest.mark.settings(refresh_reuse_grace_seconds=0)
def test_zero_grace_revokes_even_a_reuse_in_the_same_second(api: Api) -> None:
    account = api.account()
    newest = api.refresh(account.refresh_token).json()
    assert api.refresh(account.refresh_token).status_code == 401
    assert api.refresh(newest["refresh_token"]).status_code == 401
