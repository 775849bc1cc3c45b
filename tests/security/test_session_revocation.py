"""Stolen and replayed tokens: reuse detection, and tokens that outlive a logout.

Every ended session refuses its access and refresh tokens at once, not at their expiry.
"""

from __future__ import annotations

import pytest

from tests.api_moves import PASSWORD, Account, Api
from tests.clock import Clock
from tests.forgery import claims_of
from tests.security.refusals import assert_token_refused

GRACE = 10  # REFRESH_REUSE_GRACE_SECONDS


def assert_session_ended(api: Api, *accounts: Account) -> None:
    for account in accounts:
        assert_token_refused(api.profile(account.access_token))
        assert_token_refused(api.refresh(account.refresh_token))


def assert_session_lives(api: Api, account: Account) -> None:
    assert api.profile(account.access_token).status_code == 200


def rotated(api: Api, account: Account) -> Account:
    response = api.refresh(account.refresh_token)
    assert response.status_code == 200
    pair = response.json()
    return Account(account.email, account.password, pair["access_token"], pair["refresh_token"])


def session_ids(api: Api, account: Account) -> list[str]:
    response = api.client.get("/api/v1/auth/sessions", headers=account.headers)
    assert response.status_code == 200
    return [item["id"] for item in response.json()["items"]]


def test_stolen_refresh_token_replayed_after_the_grace_window_revokes_the_session(
    api: Api, clock: Clock
) -> None:
    victim = api.account()
    newest = rotated(api, victim)  # the victim refreshes; the thief kept the old token
    clock.advance(GRACE + 1)
    assert_token_refused(api.refresh(victim.refresh_token))
    # Theft is assumed: the thief and the victim are both logged out of that session.
    assert_session_ended(api, newest, victim)


def test_refresh_token_replayed_within_the_grace_window_is_refused_but_the_session_lives(
    api: Api, clock: Clock
) -> None:
    victim = api.account()
    newest = rotated(api, victim)
    clock.advance(GRACE - 5)
    assert_token_refused(api.refresh(victim.refresh_token))
    assert_session_lives(api, newest)
    assert api.refresh(newest.refresh_token).status_code == 200


def test_replaying_an_older_generation_revokes_the_session(api: Api) -> None:
    first = api.account()
    second = rotated(api, first)
    third = rotated(api, second)
    assert_token_refused(api.refresh(first.refresh_token))
    assert_session_ended(api, third)


def test_rotation_never_extends_the_sessions_absolute_lifetime(api: Api, clock: Clock) -> None:
    account = api.account()
    session_end = claims_of(account.refresh_token)["exp"]
    for _ in range(5):
        # Small steps: PyJWT judges `iat` by the real clock, which the test clock must not outrun.
        clock.advance(5)
        account = rotated(api, account)
        assert claims_of(account.refresh_token)["exp"] == session_end
    clock.advance(7 * 86400)
    assert_token_refused(api.refresh(account.refresh_token))
    assert_token_refused(api.profile(account.access_token))


def test_tokens_are_refused_after_logout(api: Api) -> None:
    account = api.account()
    renewed = rotated(api, account)
    assert api.logout(renewed.access_token).status_code == 204
    assert_session_ended(api, renewed)
    assert_token_refused(api.profile(account.access_token))


def test_logout_cannot_be_repeated_with_the_same_token(api: Api) -> None:
    account = api.account()
    assert api.logout(account.access_token).status_code == 204
    assert_token_refused(api.logout(account.access_token))


def test_tokens_of_every_session_are_refused_after_logout_all(api: Api) -> None:
    phone, laptop, tablet = api.account(), api.account(), api.account()
    bystander = api.account("bob@example.com")
    response = api.client.post("/api/v1/auth/logout-all", headers=laptop.headers)
    assert response.status_code == 200
    assert_session_ended(api, phone, laptop, tablet)
    assert_session_lives(api, bystander)


def test_tokens_of_an_ended_session_are_refused_after_delete_session(api: Api) -> None:
    stolen, mine = api.account(), api.account()
    stolen_sid = claims_of(stolen.access_token)["sid"]
    assert stolen_sid in session_ids(api, mine)
    response = api.client.delete(f"/api/v1/auth/sessions/{stolen_sid}", headers=mine.headers)
    assert response.status_code == 204
    assert_session_ended(api, stolen)
    assert_session_lives(api, mine)
    assert stolen_sid not in session_ids(api, mine)


def test_password_change_ends_every_other_session_and_keeps_the_current_one(api: Api) -> None:
    stolen, mine = api.account(), api.account()
    new_password = "a brand new passphrase"
    response = api.client.post(
        "/api/v1/auth/password",
        headers=mine.headers,
        json={"current_password": PASSWORD, "new_password": new_password},
    )
    assert response.status_code == 200
    assert_session_ended(api, stolen)
    assert_session_lives(api, mine)
    assert api.refresh(mine.refresh_token).status_code == 200
    assert api.login(password=PASSWORD).status_code == 401
    assert api.login(password=new_password).status_code == 200


def test_stolen_access_token_cannot_change_the_password_without_the_current_one(
    api: Api,
) -> None:
    stolen = api.account()
    response = api.client.post(
        "/api/v1/auth/password",
        headers=stolen.headers,
        json={"current_password": "a guess at the password", "new_password": "attacker's own one"},
    )
    assert response.status_code == 403
    assert "current_password" in response.json()["detail"]
    assert api.login().status_code == 200


def test_logout_naming_another_users_refresh_token_leaves_that_session_alone(api: Api) -> None:
    attacker, victim = api.account("mallory@example.com"), api.account("victim@example.com")
    response = api.logout(attacker.access_token, {"refresh_token": victim.refresh_token})
    assert response.status_code == 204
    assert_session_lives(api, victim)
    assert api.refresh(victim.refresh_token).status_code == 200


def test_another_users_session_cannot_be_ended(api: Api) -> None:
    attacker, victim = api.account("mallory@example.com"), api.account("victim@example.com")
    victim_sid = claims_of(victim.access_token)["sid"]
    response = api.client.delete(f"/api/v1/auth/sessions/{victim_sid}", headers=attacker.headers)
    missing = api.client.delete("/api/v1/auth/sessions/no-such-session", headers=attacker.headers)
    assert response.status_code == missing.status_code == 404
    assert response.json() == missing.json()
    assert_session_lives(api, victim)


@pytest.mark.parametrize("path", ["/api/v1/auth/sessions", "/api/v1/tasks"])
def test_another_users_data_is_not_listed(api: Api, path: str) -> None:
    victim, attacker = api.account("victim@example.com"), api.account("mallory@example.com")
    api.client.post("/api/v1/tasks", headers=victim.headers, json={"title": "secret plans"})
    listed = api.client.get(path, headers=attacker.headers)
    assert listed.status_code == 200
    assert claims_of(victim.access_token)["sid"] not in listed.text
    assert "secret plans" not in listed.text
