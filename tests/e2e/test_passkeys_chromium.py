"""A real browser (headless Chromium) adds a passkey, then signs in with it and nothing else.

The authenticator is Chromium's virtual CTAP2 one, set up through WebDriver as a platform
authenticator (transport "internal") that keeps resident keys and verifies its user, the way
a laptop's or a phone's does. The page speaks the WebAuthn JSON forms with no library:
`PublicKeyCredential.parseCreationOptionsFromJSON`, `parseRequestOptionsFromJSON` and
`credential.toJSON()`.

Chromium treats `http://127.0.0.1` as a secure context but refuses WebAuthn there ("This is
an invalid domain"), so the page and the API are both addressed as `localhost`: one site, so
the SameSite=Strict cookie is kept. The servers still listen on 127.0.0.1 only.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.api_moves import PASSWORD
from tests.e2e.browser import BUILD, browser_cookie, chromium, run_script
from tests.e2e.pages import PASSKEY_PATH, serving_pages
from tests.forgery import claims_of
from tooling.devserver import free_port, running_server

# "heavy": a browser and its server, once for the module, never beside another heavy test.
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("heavy")]

COOKIE = "__Secure-refresh_token"
LOOPBACK = "127.0.0.1"
README = Path(__file__).resolve().parents[2] / "README.md"
README_API = '"https://auth.example.com/api/v1/auth"'


@dataclass
class Stage:
    """The API (as Python and as the page reach it), the page's URL, and the browser."""

    api: str
    page_api: str
    page: str
    driver: Any

    def run(self, script: str, *args: Any) -> Any:
        """Await a JavaScript expression on the page and return its value."""
        return run_script(self.driver, script, *args)

    def refresh_cookie(self) -> dict[str, Any] | None:
        """Return the browser's refresh cookie, HttpOnly as it is."""
        return browser_cookie(self.driver, COOKIE)

    def passkeys(self, access_token: str) -> list[dict[str, Any]]:
        """List the passkeys of the user whose access token this is."""
        listed = requests.get(
            f"{self.api}/api/v1/auth/passkeys",
            headers={"Authorization": f"Bearer {access_token}"},
            timeout=10,
        )
        assert listed.status_code == 200, listed.text
        passkeys: list[dict[str, Any]] = listed.json()["passkeys"]
        return passkeys

    def logged_in_with_password(self, email: str) -> str:
        """Register `email` and log in with the password on the page; return the user's id."""
        registration = requests.post(
            f"{self.api}/api/v1/auth/register",
            json={"email": email, "password": PASSWORD},
            timeout=10,
        )
        assert registration.status_code == 201, registration.text
        login = self.run("passwordLogin(arguments[0], arguments[1])", email, PASSWORD)
        assert login["status"] == 200, login
        user_id: str = registration.json()["id"]
        return user_id

    def passkey_added_by(self, email: str) -> dict[str, Any]:
        """Register `email`, log in with the password, add a passkey and log out again."""
        user_id = self.logged_in_with_password(email)
        added: dict[str, Any] = self.run("addPasskey('Laptop')")
        assert added["status"] == 201, added
        assert self.run("logout()")["status"] == 204
        return {"user_id": user_id, "passkey": added["body"], "algorithm": added["algorithm"]}


@pytest.fixture(scope="module")
def stage() -> Iterator[Stage]:
    page_port = free_port()
    page_origin = f"http://localhost:{page_port}"
    env = {
        "CORS_ORIGINS": page_origin,
        "WEBAUTHN_RP_ID": "localhost",
        "WEBAUTHN_ORIGINS": page_origin,
        "AUTH_RATE_LIMIT_PER_MINUTE": "0",
        "REGISTRATIONS_PER_ADDRESS_PER_DAY": "0",
    }
    log_path = BUILD / "chromium-passkeys-server.log"
    with chromium() as driver, running_server(env, log_path=log_path) as api:
        page_api = api.replace(LOOPBACK, "localhost")
        with serving_pages(page_port, page_api) as pages:
            page = pages.replace(LOOPBACK, "localhost") + PASSKEY_PATH
            yield Stage(api, page_api, page, driver)


@pytest.fixture
def browser(stage: Stage) -> Iterator[Stage]:
    """Give each test a fresh page, no cookies, and a fresh authenticator with no keys."""
    from selenium.webdriver.common.virtual_authenticator import VirtualAuthenticatorOptions

    stage.driver.execute_cdp_cmd("Network.clearBrowserCookies", {})
    stage.driver.get(stage.page)
    options = VirtualAuthenticatorOptions(
        protocol="ctap2",
        transport="internal",
        has_resident_key=True,
        has_user_verification=True,
        is_user_verified=True,
    )
    stage.driver.add_virtual_authenticator(options)
    try:
        yield stage
    finally:
        stage.driver.remove_virtual_authenticator()


def readme_javascript(api: str, blocks: int = 1) -> str:
    """Return the README's passkey JavaScript, aimed at `api`, as an async function of `access`.

    The first `blocks` JavaScript blocks of the Passkeys section run in order, in one scope.
    The first ends with the login's `access_token` and `csrf_token`; the second (the step-up)
    leaves the raised session's token in `access`. The function returns all three.
    """
    section = README.read_text().split("\n## Passkeys\n", 1)[1].split("\n## ", 1)[0]
    snippets = [block.split("```", 1)[0] for block in section.split("```js\n")[1:]]
    snippet = "\n".join(snippets[:blocks])
    assert README_API in snippet, "the README's example API moved"
    snippet = snippet.replace(README_API, json.dumps(f"{api}/api/v1/auth"))
    return (
        f"(async (access) => {{\n{snippet}\nreturn {{access_token, csrf_token, access}};\n}})"
        "(app.access)"
    )


def test_a_passkey_added_in_the_browser_signs_in_alone_and_opens_the_profile(
    browser: Stage,
) -> None:
    email = "chromium-passkey@example.com"
    added = browser.passkey_added_by(email)
    assert set(added["passkey"]) == {"id", "name", "created_at"}
    assert added["passkey"]["name"] == "Laptop"
    # The options list EdDSA first, and Chromium's authenticator takes it: the soft
    # authenticator of the other tests makes ES256 keys only.
    assert added["algorithm"] == -8
    [kept] = browser.driver.get_credentials()
    assert kept.is_resident_credential and kept.rp_id == "localhost"
    # The authenticator keeps a random handle for the user: neither her id nor her email.
    handle = base64.urlsafe_b64decode(kept.user_handle)
    assert len(handle) == 32
    assert added["user_id"].encode() not in handle and email.encode() not in handle
    assert browser.run("profile()")["status"] == 401

    login = browser.run("passkeyLogin()")

    assert login["status"] == 200, login
    assert set(login["body"]) == {"access_token", "token_type", "expires_in", "csrf_token"}
    token = claims_of(login["body"]["access_token"])
    assert token["acr"] == "aal2" and token["amr"] == ["pop", "mfa"]
    assert isinstance(token["auth_time"], int)
    cookie = browser.refresh_cookie()
    assert cookie is not None, "the browser did not keep the session cookie"
    assert cookie["httpOnly"] and cookie["secure"] and cookie["sameSite"] == "Strict"
    assert COOKIE not in login["cookie"]
    profile = browser.run("profile()")
    assert profile["status"] == 200, profile
    assert profile["body"]["email"] == email
    [passkey] = browser.passkeys(login["body"]["access_token"])
    assert passkey["id"] == added["passkey"]["id"] and passkey["last_used_at"] is not None


def test_without_user_verification_the_passkey_login_is_refused(browser: Stage) -> None:
    browser.passkey_added_by("chromium-passkey-uv@example.com")
    browser.driver.set_user_verified(False)

    # The server demands user verification, so the browser itself gives nothing back ...
    strict = browser.run("passkeyLogin()")
    assert strict == {"status": None, "refusedBy": "browser", "error": "NotAllowedError"}
    # ... and a page that asks for less gets an assertion without the flag, which the server
    # refuses: no tokens, no cookie.
    lax = browser.run("passkeyLogin({userVerification: 'discouraged'})")
    assert lax["status"] == 401, lax
    assert lax["body"]["type"].endswith("/passkey-refused") and "access_token" not in lax["body"]
    assert browser.refresh_cookie() is None
    assert browser.run("profile()")["status"] == 401

    # The same key, with its user verified again, is let in: the flag was the reason.
    browser.driver.set_user_verified(True)
    assert browser.run("passkeyLogin()")["status"] == 200


def test_the_readme_javascript_adds_a_passkey_and_signs_in_with_it(browser: Stage) -> None:
    browser.logged_in_with_password("chromium-passkey-readme@example.com")

    answer = browser.run(readme_javascript(browser.page_api))

    assert "error" not in answer, answer
    assert claims_of(answer["access_token"])["amr"] == ["pop", "mfa"]
    assert answer["csrf_token"]
    assert browser.refresh_cookie() is not None
    [passkey] = browser.passkeys(answer["access_token"])
    assert passkey["name"] == "Laptop" and passkey["last_used_at"] is not None


def test_the_readme_step_up_raises_the_password_session_with_the_passkey(browser: Stage) -> None:
    browser.logged_in_with_password("chromium-passkey-step-up@example.com")
    password_session = claims_of(browser.run("app.access"))
    assert password_session["acr"] == "aal1"

    answer = browser.run(readme_javascript(browser.page_api, blocks=2))

    assert "error" not in answer, answer
    raised = claims_of(answer["access"])
    # The same session, raised in place by a passkey: no new login, no password.
    assert raised["sid"] == password_session["sid"]
    assert raised["acr"] == "aal2" and raised["amr"] == ["pop", "mfa"]
    assert raised["auth_time"] >= password_session["auth_time"]
