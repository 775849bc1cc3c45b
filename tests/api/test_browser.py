"""Browser sessions on every backend: a refresh cookie, a CSRF token, an Origin check."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.testclient import TestClient

from tests.api_moves import Api
from tests.backends import decided_before_the_store
from tests.clock import Clock
from tests.token_clients import APP_ORIGIN, BROWSER_SETTINGS, COOKIE, Browser, SetCookie

DAY = 86400
WEEK = 7 * DAY


pytestmark = pytest.mark.settings(**BROWSER_SETTINGS)


@pytest.fixture
def browser(client: TestClient, api: Api) -> Browser:
    api.register()
    return Browser(client)


def test_browser_login_puts_the_refresh_token_only_in_a_locked_down_cookie(
    browser: Browser,
) -> None:
    response = browser.login()
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"access_token", "token_type", "expires_in", "csrf_token"}
    assert body["token_type"] == "bearer"
    assert response.headers["cache-control"] == "no-store"
    cookie = SetCookie.of(response)
    assert cookie is not None
    assert cookie.name == COOKIE and cookie.name.startswith("__Secure-")
    assert cookie.value.count(".") == 2 and cookie.value not in response.text
    assert cookie.attributes == {
        "httponly": "True",
        "secure": "True",
        "samesite": "strict",
        "path": "/api/v1/auth/browser",
        "max-age": str(WEEK),
    }


def test_access_token_of_a_browser_login_opens_protected_endpoints(browser: Browser) -> None:
    browser.login()
    assert browser.profile().status_code == 200


def test_browser_refresh_rotates_the_cookie_and_keeps_the_csrf_token(browser: Browser) -> None:
    browser.login()
    first_cookie, csrf_token, first_access = (
        browser.cookie,
        browser.csrf_token,
        browser.access_token,
    )
    response = browser.refresh()
    assert response.status_code == 200, response.text
    assert set(response.json()) == {"access_token", "token_type", "expires_in", "csrf_token"}
    assert response.headers["cache-control"] == "no-store"
    assert browser.cookie not in (None, first_cookie)
    assert browser.access_token != first_access
    assert browser.csrf_token == csrf_token
    assert browser.profile().status_code == 200


def test_cookie_max_age_is_the_sessions_remaining_absolute_lifetime(
    browser: Browser, clock: Clock
) -> None:
    browser.login()
    clock.advance(2 * DAY)
    response = browser.refresh()
    cookie = SetCookie.of(response)
    assert cookie is not None
    # The clock ticked a little past two days: what is left, never a fresh week.
    assert WEEK - 2 * DAY - 1 <= int(cookie.attributes["max-age"]) <= WEEK - 2 * DAY


def test_refresh_past_the_sessions_absolute_lifetime_is_refused(
    browser: Browser, clock: Clock
) -> None:
    browser.login()
    clock.advance(WEEK + 1)
    assert browser.refresh().status_code == 401


def test_spent_cookie_replayed_after_the_grace_window_revokes_the_session(
    browser: Browser, clock: Clock
) -> None:
    browser.login()
    stolen = browser.cookie
    assert browser.refresh().status_code == 200
    clock.advance(11)
    replay = browser.refresh(cookie=stolen)
    assert replay.status_code == 401
    # Reuse detection ended the session: the rotated cookie and its access token are dead.
    assert browser.refresh().status_code == 401
    assert browser.profile().status_code == 401


def test_spent_cookie_within_the_grace_window_is_refused_but_the_session_lives(
    browser: Browser,
) -> None:
    browser.login()
    spent = browser.cookie
    assert browser.refresh().status_code == 200
    current = browser.cookie
    racing_tab = browser.refresh(cookie=spent)
    assert racing_tab.status_code == 401
    # The refusal leaves the cookie alone: clearing it would log the winning tab out too.
    assert SetCookie.of(racing_tab) is None
    browser.cookie = current
    assert browser.refresh().status_code == 200


@pytest.mark.parametrize("cookie", [None, "", "not-a-token"])
@decided_before_the_store
def test_refresh_without_a_usable_cookie_is_401(browser: Browser, cookie: str | None) -> None:
    browser.login()
    response = browser.refresh(cookie=cookie)
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["www-authenticate"].startswith('Bearer realm="auth-api"')


# Raw UTF-8 bytes in the header: compare_digest would raise on non-ASCII text.
@pytest.mark.parametrize("csrf_token", [None, "", "x" * 43, "é".encode()])
@pytest.mark.parametrize("operation", ["refresh", "logout"])
@decided_before_the_store
def test_missing_or_wrong_csrf_token_is_a_403_that_changes_nothing(
    browser: Browser, operation: str, csrf_token: str | bytes | None
) -> None:
    browser.login()
    cookie = browser.cookie
    response = getattr(browser, operation)(csrf_token=csrf_token)
    assert response.status_code == 403, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["detail"].startswith("X-CSRF-Token:")
    assert SetCookie.of(response) is None
    assert browser.cookie == cookie
    assert browser.profile().status_code == 200
    assert browser.refresh().status_code == 200


@pytest.mark.parametrize("operation", ["login", "refresh", "logout"])
@pytest.mark.parametrize(
    "origin", ["https://evil.example", "null", "https://app.example.com.evil.example"]
)
@decided_before_the_store
def test_foreign_origin_is_a_403_that_changes_nothing(
    client: TestClient, browser: Browser, operation: str, origin: str
) -> None:
    browser.login()
    cookie = browser.cookie
    foreign = Browser(client, origin=origin)
    foreign.cookie, foreign.csrf_token = browser.cookie, browser.csrf_token
    response = getattr(foreign, operation)()
    assert response.status_code == 403, response.text
    assert response.json()["detail"].startswith("Origin:")
    assert SetCookie.of(response) is None
    assert browser.refresh().status_code == 200
    assert browser.cookie != cookie


@pytest.mark.parametrize("origin", [APP_ORIGIN, "http://testserver", None])
@decided_before_the_store
def test_listed_origin_the_apis_own_origin_and_no_origin_are_accepted(
    client: TestClient, api: Api, origin: str | None
) -> None:
    api.register()
    browser = Browser(client, origin=origin)
    assert browser.login().status_code == 200
    assert browser.refresh().status_code == 200
    assert browser.logout().status_code == 204


def test_browser_logout_revokes_the_session_and_clears_the_cookie(browser: Browser) -> None:
    browser.login()
    cookie = browser.cookie
    response = browser.logout()
    assert response.status_code == 204
    cleared = SetCookie.of(response)
    assert cleared is not None and cleared.name == COOKIE
    assert cleared.attributes["max-age"] == "0"
    assert cleared.attributes["path"] == "/api/v1/auth/browser"
    assert browser.cookie is None
    assert browser.profile().status_code == 401
    assert browser.refresh().status_code == 401
    assert browser.refresh(cookie=cookie).status_code == 401
    assert browser.logout(cookie=cookie).status_code == 401


def test_browser_login_refuses_a_wrong_password_and_an_unknown_email_alike(
    client: TestClient, browser: Browser
) -> None:
    wrong_password = browser.login(password="not the password at all")
    unknown_email = Browser(client).login(email="nobody@example.com")
    assert wrong_password.status_code == unknown_email.status_code == 401
    assert wrong_password.content == unknown_email.content
    assert SetCookie.of(wrong_password) is None


def test_browser_and_json_logins_share_one_failure_count(api: Api, browser: Browser) -> None:
    for _ in range(3):
        assert api.login(password="wrong password, json").status_code == 401
    for _ in range(2):
        assert browser.login(password="wrong password, browser").status_code == 401
    throttled = browser.login()
    assert throttled.status_code == 429
    assert "retry-after" in throttled.headers


@decided_before_the_store
def test_listed_origin_gets_credentialed_cors_with_the_csrf_header_allowed(
    client: TestClient,
) -> None:
    preflight = client.options(
        "/api/v1/auth/browser/refresh",
        headers={
            "Origin": APP_ORIGIN,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "x-csrf-token, content-type",
        },
    )
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == APP_ORIGIN
    assert preflight.headers["access-control-allow-credentials"] == "true"
    assert "x-csrf-token" in preflight.headers["access-control-allow-headers"].lower()


@decided_before_the_store
def test_unlisted_origin_gets_no_cors_grant(client: TestClient) -> None:
    preflight = client.options(
        "/api/v1/auth/browser/refresh",
        headers={
            "Origin": "https://evil.example",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "x-csrf-token",
        },
    )
    assert "access-control-allow-origin" not in preflight.headers


@pytest.mark.settings(cors_origins=("*",))
@decided_before_the_store
def test_wildcard_cors_never_grants_credentials(app: Any) -> None:
    with app.test_client() as client:
        response = client.get("/health", headers={"Origin": "https://evil.example"})
    assert "access-control-allow-credentials" not in response.headers
