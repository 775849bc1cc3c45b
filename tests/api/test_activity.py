"""GET /api/v1/auth/activity: what happened to the caller's account, on every store."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api_moves import PASSWORD, Account, Api
from tests.backends import decided_before_the_store
from tests.clock import Clock
from tests.token_clients import revoke

WRONG = "not the password at all"


def activity(api: Api, account: Account, **query: Any) -> Any:
    return api.client.get("/api/v1/auth/activity", headers=account.headers, params=query)


def events_of(api: Api, account: Account, **query: Any) -> list[dict[str, Any]]:
    response = activity(api, account, **query)
    assert response.status_code == 200, response.text
    events: list[dict[str, Any]] = response.json()["events"]
    return events


def kinds(events: list[dict[str, Any]]) -> list[str]:
    return [event["type"] for event in events]


def test_a_login_is_listed_with_its_session_address_and_user_agent(api: Api) -> None:
    api.client.headers["User-Agent"] = "phone/1.0"
    account = api.account()
    response = activity(api, account)
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    [login] = response.json()["events"]
    assert login["type"] == "login_succeeded"
    assert login["ip"] == "127.0.0.1"
    assert login["user_agent"] == "phone/1.0"
    assert login["session_id"] is not None
    assert login["details"] == {}
    assert response.json()["next_cursor"] is None


def test_failed_logins_of_a_known_account_are_one_event_with_a_count(api: Api) -> None:
    account = api.account()
    for _ in range(3):
        assert api.login(password=WRONG).status_code == 401
    failed = events_of(api, account, type="login_failed")
    assert [event["details"] for event in failed] == [{"reason": "wrong_password", "count": 3}]
    assert failed[0]["session_id"] is None


def test_an_unknown_email_records_nothing_anywhere(api: Api) -> None:
    account = api.account()
    before = events_of(api, account)
    assert api.login("nobody@example.com", WRONG).status_code == 401
    assert events_of(api, account) == before


@pytest.mark.settings(login_max_failures=2)
def test_a_throttled_login_is_listed(api: Api) -> None:
    account = api.account()
    for _ in range(2):
        api.login(password=WRONG)
    assert api.login(password=WRONG).status_code == 429
    assert api.login(password=WRONG).status_code == 429
    throttled = events_of(api, account, type="login_throttled")
    assert [event["details"] for event in throttled] == [{"count": 2}]


def test_a_password_change_lists_how_many_sessions_it_ended(api: Api) -> None:
    account = api.account()
    api.login()
    api.login()
    response = api.client.post(
        "/api/v1/auth/password",
        headers=account.headers,
        json={"current_password": PASSWORD, "new_password": "a brand new passphrase"},
    )
    assert response.status_code == 200
    [changed] = events_of(api, account, type="password_changed")
    assert changed["details"] == {"count": 2}
    assert "a brand new passphrase" not in activity(api, account).text
    assert PASSWORD not in activity(api, account).text


def test_ending_sessions_is_listed_with_the_way_each_ended(api: Api) -> None:
    account = api.account()
    other = api.login().json()
    third = api.login().json()
    ended = _sid(other["access_token"])
    response = api.client.delete(f"/api/v1/auth/sessions/{ended}", headers=account.headers)
    assert response.status_code == 204
    assert api.logout(third["access_token"]).status_code == 204
    response = api.client.post("/api/v1/auth/logout-all", headers=account.headers)
    assert response.status_code == 200
    fresh = api.account()
    events = events_of(api, fresh)
    assert [(e["type"], e["session_id"], e["details"]) for e in events[1:4]] == [
        ("logout_all", _sid(account.access_token), {"count": 1}),
        ("session_revoked", _sid(third["access_token"]), {"reason": "logout"}),
        ("session_revoked", ended, {"reason": "ended"}),
    ]


def test_a_refresh_replay_and_a_reuse_are_listed(api: Api, clock: Clock) -> None:
    account = api.account()
    newest = api.refresh(account.refresh_token).json()
    clock.advance(5)
    assert api.refresh(account.refresh_token).status_code == 401
    assert api.refresh(account.refresh_token).status_code == 401
    clock.advance(11)
    assert api.refresh(account.refresh_token).status_code == 401
    fresh = api.account()
    events = events_of(api, fresh)
    assert kinds(events)[1:3] == ["refresh_reuse_detected", "refresh_replayed"]
    assert events[2]["details"] == {"count": 2}
    assert events[1]["session_id"] == events[2]["session_id"] == _sid(newest["access_token"])


def test_a_revoked_token_is_listed_with_its_kind(api: Api) -> None:
    account = api.account()
    doomed = api.login().json()
    assert revoke(api.client, doomed["refresh_token"]).status_code == 200
    [revoked] = events_of(api, account, type="token_revoked")
    assert revoked["details"] == {"reason": "refresh_token"}
    assert revoked["session_id"] == _sid(doomed["access_token"])


def test_pages_follow_the_cursor_to_the_oldest_event(api: Api) -> None:
    account = api.account()
    for _ in range(4):
        api.login()
    seen: list[str] = []
    cursor = None
    while True:
        query = {"limit": 2} if cursor is None else {"limit": 2, "cursor": cursor}
        page = activity(api, account, **query).json()
        seen += [event["id"] for event in page["events"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [event["id"] for event in events_of(api, account, limit=100)]
    assert len(seen) == 5


def test_reading_the_log_writes_nothing(api: Api) -> None:
    account = api.account()
    first = activity(api, account).json()
    api.profile(account.access_token)
    assert activity(api, account).json() == first


def test_a_long_user_agent_is_cut_to_256_characters(api: Api) -> None:
    api.client.headers["User-Agent"] = "x" * 1000
    account = api.account()
    [login] = events_of(api, account)
    assert login["user_agent"] == "x" * 256


@decided_before_the_store
def test_the_log_needs_a_bearer_token(api: Api) -> None:
    assert api.client.get("/api/v1/auth/activity").status_code == 401


@pytest.mark.parametrize(
    ("query", "field"),
    [({"type": "password_stolen"}, "type"), ({"limit": 0}, "limit"), ({"cursor": "!!"}, "cursor")],
)
@decided_before_the_store
def test_bad_parameters_are_a_400_naming_the_field(
    api: Api, query: dict[str, Any], field: str
) -> None:
    account = api.account()
    response = activity(api, account, **query)
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["detail"].startswith(field)
    assert "password_stolen" not in response.text


def _sid(token: str) -> str:
    import jwt

    sid: str = jwt.decode(token, options={"verify_signature": False})["sid"]
    return sid
