"""A real browser (headless Chromium) uses a browser session from an app on another origin.

The app page is served from a second port on 127.0.0.1, listed in CORS_ORIGINS of a real
server; it logs in, makes a protected call, refreshes with `fetch(..., {credentials:
"include"})` and logs out. Ports do not make another site, so the cookie (SameSite=Strict)
goes along; a third, unlisted port is same-site but not allowed, and `localhost` is another
site altogether.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import requests

from tests.api_moves import PASSWORD
from tests.e2e.browser import BUILD, browser_cookie, chromium, run_script
from tests.e2e.pages import APP_PATH, FORM_PATH, serving_pages
from tooling.devserver import free_port, running_server

# "heavy": the tests that load the machine most, or count on a deadline, run on one worker,
# one after another, never two at once; here a browser and its server, once for the module.
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("heavy")]

COOKIE = "__Secure-refresh_token"
DEVICE_COOKIE = "__Secure-device_token"


@dataclass
class Stage:
    """The API, the app's origin, an unlisted same-site origin, and the browser."""

    api: str
    app: str
    unlisted: str
    driver: Any

    def open_app(self) -> None:
        self.driver.get(self.app + APP_PATH)

    def run(self, script: str, *args: Any) -> Any:
        """Await a JavaScript expression on the current page and return its value."""
        return run_script(self.driver, script, *args)

    def refresh_cookie(self, name: str = COOKIE) -> dict[str, Any] | None:
        """Return the browser's refresh cookie as its cookie store holds it, HttpOnly or not."""
        return browser_cookie(self.driver, name)

    def device_cookie(self) -> dict[str, Any] | None:
        """Return the browser's device cookie as its cookie store holds it."""
        return self.refresh_cookie(DEVICE_COOKIE)

    def register(self, email: str) -> None:
        response = requests.post(
            f"{self.api}/api/v1/auth/register",
            json={"email": email, "password": PASSWORD},
            timeout=10,
        )
        assert response.status_code == 201, response.text

    def logged_in(self, email: str) -> dict[str, Any]:
        """Register `email`, open the app and log in from it."""
        self.register(email)
        self.open_app()
        answer: dict[str, Any] = self.run("login(arguments[0], arguments[1])", email, PASSWORD)
        assert answer["status"] == 200, answer
        return answer


@pytest.fixture(scope="module")
def stage() -> Iterator[Stage]:
    app_port, unlisted_port = free_port(), free_port()
    app_origin = f"http://127.0.0.1:{app_port}"
    env = {
        "CORS_ORIGINS": app_origin,
        "AUTH_RATE_LIMIT_PER_MINUTE": "0",
        "REGISTRATIONS_PER_ADDRESS_PER_DAY": "0",
        "TASK_WRITES_PER_MINUTE": "0",
    }
    with chromium() as driver, running_server(env, log_path=BUILD / "chromium-server.log") as api:
        with serving_pages(app_port, api) as app, serving_pages(unlisted_port, api) as unlisted:
            yield Stage(api, app, unlisted, driver)


def test_the_app_logs_in_calls_refreshes_and_logs_out_never_seeing_the_refresh_token(
    stage: Stage,
) -> None:
    login = stage.logged_in("chromium-flow@example.com")
    assert set(login["body"]) == {"access_token", "token_type", "expires_in", "csrf_token"}
    cookie = stage.refresh_cookie()
    assert cookie is not None, "the browser did not keep the Secure cookie"
    assert cookie["httpOnly"] and cookie["secure"] and cookie["sameSite"] == "Strict"
    assert cookie["path"] == "/api/v1/auth/browser"
    # The page lives under the cookie's path on the cookie's host: only HttpOnly hides it.
    assert COOKIE not in login["cookie"] and cookie["value"] not in login["cookie"]
    device = stage.device_cookie()
    assert device is not None, "the browser did not keep the device cookie"
    assert device["httpOnly"] and device["secure"] and device["sameSite"] == "Strict"
    assert device["path"] == "/api/v1/auth/browser"
    assert DEVICE_COOKIE not in login["cookie"]

    profile = stage.run("profile()")
    assert profile["status"] == 200, profile
    assert profile["body"]["email"] == "chromium-flow@example.com"

    refreshed = stage.run("refresh()")
    assert refreshed["status"] == 200, refreshed
    rotated = stage.refresh_cookie()
    assert rotated is not None and rotated["value"] != cookie["value"]
    assert rotated["value"] not in refreshed["cookie"]
    assert stage.run("profile()")["status"] == 200

    logout = stage.run("logout()")
    assert logout["status"] == 204, logout
    assert stage.refresh_cookie() is None
    # The device stays known: its cookie outlives the session.
    kept = stage.device_cookie()
    assert kept is not None and kept["value"] == device["value"]
    assert stage.run("profile()")["status"] == 401
    for answer in (login, profile, refreshed, logout):
        assert COOKIE not in answer["cookie"]


def test_a_refresh_without_the_csrf_header_is_refused(stage: Stage) -> None:
    stage.logged_in("chromium-csrf@example.com")
    before = stage.refresh_cookie()
    refused = stage.run("refresh({withCsrf: false})")
    assert refused["status"] == 403, refused
    assert refused["body"]["detail"].startswith("X-CSRF-Token:")
    assert stage.refresh_cookie() == before
    assert stage.run("refresh()")["status"] == 200


@pytest.mark.parametrize("site", ["same-site, unlisted port", "cross-site, localhost"])
def test_a_form_post_from_an_origin_not_in_cors_origins_changes_nothing(
    stage: Stage, site: str
) -> None:
    stage.logged_in(f"chromium-form-{site[:5]}@example.com")
    csrf_token = stage.run("app.csrf")
    before = stage.refresh_cookie()
    assert before is not None
    origin = stage.unlisted
    if site.startswith("cross"):
        origin = origin.replace("127.0.0.1", "localhost")
    stage.driver.get(origin + FORM_PATH)
    # The form navigates the tab to the API's answer.
    answer = _wait_for_text(stage.driver)
    assert '"status": 403' in answer, answer
    assert stage.refresh_cookie() == before
    # Back in the app (reloaded, so its CSRF token is handed back), the session is untouched.
    stage.open_app()
    refreshed = stage.run("(app.csrf = arguments[0], refresh())", csrf_token)
    assert refreshed["status"] == 200, refreshed


def test_after_logout_refresh_gives_401(stage: Stage) -> None:
    stage.logged_in("chromium-logout@example.com")
    assert stage.run("logout()")["status"] == 204
    after = stage.run("refresh()")
    assert after["status"] == 401, after


def _wait_for_text(driver: Any, seconds: float = 10) -> str:
    from selenium.webdriver.support.ui import WebDriverWait

    def answered(current: Any) -> str | None:
        text: str = current.execute_script("return document.body ? document.body.innerText : ''")
        return text if '"status"' in text else None

    result: str = WebDriverWait(driver, seconds).until(answered)
    return result
