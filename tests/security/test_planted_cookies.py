"""A cookie planted by a sibling subdomain: one name sent twice is refused, and cleared.

A page on `evil.example.com` can set `__Secure-refresh_token` for `.example.com` (the prefix
asks only for Secure), so the browser sends two cookies of one name. Starlette kept the last
of them, so the planted one could win: browser logout answered 401 while the session lived
on. A repeated session cookie now gets 400, naming the cookie and the rule, never a value,
and the answer clears the cookie with the very attributes that set it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from starlette.testclient import TestClient

from authapi.settings import Settings
from tests.api_moves import Api
from tests.token_clients import APP_ORIGIN, BROWSER, COOKIE, Browser, SetCookie, browser_settings

PLANTED = "planted-by-a-sibling-subdomain"


@pytest.fixture
def settings(store_url: str) -> Settings:
    return browser_settings(store_url)


@pytest.fixture
def browser(api: Api, client: TestClient) -> Browser:
    assert api.register().status_code == 201
    browser = Browser(client)
    assert browser.login().status_code == 200
    return browser


def planted_first(real: str) -> list[tuple[str, str]]:
    return [("Cookie", f"{COOKIE}={PLANTED}; {COOKIE}={real}")]


def planted_last(real: str) -> list[tuple[str, str]]:
    return [("Cookie", f"{COOKIE}={real}; other=1; {COOKIE}={PLANTED}")]


def in_two_headers(real: str) -> list[tuple[str, str]]:
    return [("Cookie", f"{COOKIE}={real}"), ("Cookie", f"{COOKIE}={PLANTED}")]


def post(browser: Browser, action: str, cookies: list[tuple[str, str]]) -> Any:
    assert browser.csrf_token is not None
    headers = [("Origin", APP_ORIGIN), ("X-CSRF-Token", browser.csrf_token), *cookies]
    return browser.client.post(f"{BROWSER}/{action}", headers=headers)


@pytest.mark.parametrize("action", ["refresh", "logout"])
@pytest.mark.parametrize("cookies", [planted_first, planted_last, in_two_headers])
def test_a_session_cookie_sent_twice_is_refused_and_cleared(
    browser: Browser, action: str, cookies: Callable[[str], list[tuple[str, str]]]
) -> None:
    real = browser.cookie
    assert real is not None
    response = post(browser, action, cookies(real))
    assert response.status_code == 400, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["status"] == 400
    assert problem["detail"].startswith(f"Cookie: {COOKIE} is sent more than once")
    for value in (real, PLANTED):
        assert value not in response.text
    # Cleared exactly as logout clears it: same Path, Secure, HttpOnly and SameSite.
    cleared = cookie_attributes(response)
    assert cleared == cookie_attributes(browser.logout())
    assert cleared["max-age"] == "0"
    assert cleared["path"] == BROWSER
    assert {"secure", "httponly"} <= set(cleared)
    assert cleared["samesite"].lower() == "strict"


def cookie_attributes(response: Any) -> dict[str, str]:
    """Return what a Set-Cookie of the session cookie says, but for its wall-clock `expires`."""
    set_cookie = SetCookie.of(response)
    assert set_cookie is not None and set_cookie.name == COOKIE
    assert set_cookie.value == ""
    return {k: v for k, v in set_cookie.attributes.items() if k != "expires"}


@pytest.mark.parametrize("action", ["refresh", "logout"])
def test_the_session_cookie_sent_once_among_others_is_read(browser: Browser, action: str) -> None:
    real = browser.cookie
    assert real is not None
    cookies = [("Cookie", f"theme=dark; {COOKIE}={real}"), ("Cookie", "lang=en")]
    assert post(browser, action, cookies).status_code in {200, 204}
