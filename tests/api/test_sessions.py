"""Session control: list, end one, end all, and password change."""

from __future__ import annotations

from tests.api_moves import PASSWORD, Account, Api
from tests.clock import Clock


def sessions(api: Api, who: Account) -> list[dict]:
    response = api.client.get("/api/v1/auth/sessions", headers=who.headers)
    assert response.status_code == 200
    return response.json()["items"]


def test_sessions_list_the_callers_live_logins_and_mark_the_current_one(
    api: Api, clock: Clock
) -> None:
    first = api.account()
    clock.advance(1)
    api.client.headers["User-Agent"] = "phone/1.0"
    second = api.account()
    listed = sessions(api, second)
    assert len(listed) == 2
    assert [item["current"] for item in listed] == [True, False]
    assert listed[0]["user_agent"] == "phone/1.0"
    assert listed[0]["client_ip"] is not None
    assert listed[0]["last_refreshed_at"] is None
    api.refresh(first.refresh_token)
    assert sessions(api, first)[1]["last_refreshed_at"] is not None


def test_sessions_of_other_users_are_not_listed(api: Api) -> None:
    ada, _ = api.account("ada@example.com"), api.account("bob@example.com")
    assert len(sessions(api, ada)) == 1


def test_ending_one_session_revokes_its_tokens_at_once(api: Api) -> None:
    phone, laptop = api.account(), api.account()
    target = next(item["id"] for item in sessions(api, laptop) if not item["current"])
    response = api.client.delete(f"/api/v1/auth/sessions/{target}", headers=laptop.headers)
    assert response.status_code == 204
    assert api.profile(phone.access_token).status_code == 401
    assert api.refresh(phone.refresh_token).status_code == 401
    assert api.profile(laptop.access_token).status_code == 200


def test_another_users_session_answers_as_a_missing_one(api: Api) -> None:
    ada, bob = api.account("ada@example.com"), api.account("bob@example.com")
    bobs = sessions(api, bob)[0]["id"]
    theirs = api.client.delete(f"/api/v1/auth/sessions/{bobs}", headers=ada.headers)
    missing = api.client.delete("/api/v1/auth/sessions/no-such-session", headers=ada.headers)
    assert theirs.status_code == missing.status_code == 404
    assert theirs.json() == missing.json()
    assert api.profile(bob.access_token).status_code == 200


def test_logout_all_revokes_every_session_of_the_caller_only(api: Api) -> None:
    one, two = api.account(), api.account()
    bob = api.account("bob@example.com")
    assert api.client.post("/api/v1/auth/logout-all", headers=one.headers).status_code == 200
    for token in (one.access_token, two.access_token):
        assert api.profile(token).status_code == 401
    assert api.refresh(two.refresh_token).status_code == 401
    assert api.profile(bob.access_token).status_code == 200


def change(api: Api, who: Account, current: str, new: str) -> object:
    return api.client.post(
        "/api/v1/auth/password",
        json={"current_password": current, "new_password": new},
        headers=who.headers,
    )


def test_password_change_keeps_this_session_and_ends_the_others(api: Api) -> None:
    other, this = api.account(), api.account()
    assert change(api, this, PASSWORD, "a brand new passphrase").status_code == 200
    assert api.profile(this.access_token).status_code == 200
    assert api.profile(other.access_token).status_code == 401
    assert api.login(password=PASSWORD).status_code == 401
    assert api.login(password="a brand new passphrase").status_code == 200


def test_password_change_requires_the_current_password(api: Api) -> None:
    who = api.account()
    response = change(api, who, "not my password", "a brand new passphrase")
    # The request is well formed; the credential in it is wrong.
    assert response.status_code == 403
    assert response.headers["content-type"] == "application/problem+json"
    assert "current_password" in response.json()["detail"]
    assert api.login().status_code == 200


def test_password_change_applies_the_policy(api: Api) -> None:
    who = api.account()
    for weak in ("short", "password123", "ada@example.com"):
        response = change(api, who, PASSWORD, weak)
        assert response.status_code == 400
        assert "new_password" in response.json()["detail"]
        assert weak not in response.text
