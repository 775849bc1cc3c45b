"""The CSRF token of a browser session: bound to it, unforgeable, and checked before anything."""

from __future__ import annotations

import base64
import hashlib
import hmac

import pytest
from starlette.testclient import TestClient

from authapi.keys import derive_key
from authapi.store import MemoryStore
from authapi.web.app import create_app
from tests.api_moves import Api
from tests.clock import Clock
from tests.config import SECRET, settings_for
from tests.token_clients import BROWSER_SETTINGS, Browser

NEW_SECRET = "a-brand-new-signing-secret-of-32-bytes!"


pytestmark = pytest.mark.settings(**BROWSER_SETTINGS)


def _mac(key: bytes, session_id: str) -> str:
    digest = hmac.new(key, b"csrf:" + session_id.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def _session_id(browser: Browser) -> str:
    from tests.forgery import claims_of

    assert browser.access_token is not None
    sid: str = claims_of(browser.access_token)["sid"]
    return sid


def test_csrf_token_of_one_session_is_useless_for_another(client: TestClient, api: Api) -> None:
    api.register()
    first, second = Browser(client), Browser(client)
    first.login()
    second.login()
    assert first.csrf_token != second.csrf_token
    assert first.refresh(csrf_token=second.csrf_token).status_code == 403
    assert second.logout(csrf_token=first.csrf_token).status_code == 403


def test_csrf_token_is_not_computable_without_the_servers_key(client: TestClient, api: Api) -> None:
    api.register()
    browser = Browser(client)
    browser.login()
    session_id = _session_id(browser)
    # The same construction under keys an attacker could know or guess.
    for key in (b"", SECRET.encode(), hashlib.sha256(SECRET.encode()).digest()):
        assert browser.refresh(csrf_token=_mac(key, session_id)).status_code == 403
    # The control: under the key derived from the signing secret, it is the session's token.
    assert _mac(derive_key(SECRET.encode(), "browser-csrf"), session_id) == browser.csrf_token


def test_csrf_tokens_survive_a_rotation_of_the_hmac_secret(clock: Clock) -> None:
    store = MemoryStore()
    before = create_app(settings_for(**BROWSER_SETTINGS), store=store, clock=clock)
    rotated = settings_for(
        **BROWSER_SETTINGS, jwt_secret_key=NEW_SECRET, jwt_previous_secret_keys=(SECRET,)
    )
    after = create_app(rotated, store=store, clock=clock)
    with before.test_client() as old_process:
        Api(old_process).register()
        browser = Browser(old_process)
        browser.login()
    old_csrf_token = browser.csrf_token
    with after.test_client() as new_process:
        browser.client = new_process
        assert browser.refresh().status_code == 200
        # New tokens come from the new key; the old one still holds until the secret retires.
        assert browser.csrf_token != old_csrf_token
        assert browser.refresh(csrf_token=old_csrf_token).status_code == 200
