"""A session keeps the transport it was born with.

A browser session's refresh token lives in an HttpOnly cookie and is spent only with the
session's CSRF token; an API session's travels in JSON bodies. Taken to the other door, a
token is refused with the ordinary 401, and the refusal neither rotates it nor ends its
session. Revocation (RFC 7009) still takes either: anyone holding a token may end it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from authapi.keys import derive_key
from authapi.settings import Settings
from tests.api_moves import Api
from tests.backends import BACKENDS, storage_url
from tests.config import SECRET, settings_for
from tests.forgery import claims_of
from tests.security.refusals import assert_token_refused
from tests.token_clients import BROWSER_SETTINGS, Browser


@pytest.fixture(params=BACKENDS)
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    # The kind is a column of the session's row: try every store.
    with storage_url(request.param, tmp_path) as url:
        yield url


@pytest.fixture
def settings(store_url: str) -> Settings:
    return settings_for(storage_url=store_url, **BROWSER_SETTINGS)


def _csrf_token_of(refresh_token: str) -> str:
    # What the server would derive for this session: the strongest attacker also has it.
    key = derive_key(SECRET.encode(), "browser-csrf")
    sid = claims_of(refresh_token)["sid"]
    digest = hmac.new(key, b"csrf:" + sid.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def _revoke(client: TestClient, token: str) -> int:
    return client.post("/api/v1/auth/revoke", data={"token": token}).status_code


def test_stolen_browser_cookie_is_refused_at_the_json_refresh(client: TestClient, api: Api) -> None:
    api.register()
    browser = Browser(client)
    assert browser.login().status_code == 200
    stolen = browser.cookie
    assert stolen is not None
    assert_token_refused(api.refresh(stolen))
    # Neither spent nor counted as reuse: the browser's session lives on, cookie and all.
    assert browser.profile().status_code == 200
    assert browser.refresh().status_code == 200
    assert browser.profile().status_code == 200


def test_api_refresh_token_is_refused_at_the_browser_endpoints(
    client: TestClient, api: Api
) -> None:
    account = api.account()
    intruder = Browser(client)
    intruder.cookie = account.refresh_token
    intruder.csrf_token = _csrf_token_of(account.refresh_token)
    assert_token_refused(intruder.refresh())
    assert_token_refused(intruder.logout())
    # The API session is neither rotated nor ended: its refresh token still works.
    assert api.profile(account.access_token).status_code == 200
    assert api.refresh(account.refresh_token).status_code == 200


def test_revocation_still_takes_either_kind(client: TestClient, api: Api) -> None:
    account = api.account()
    browser = Browser(client)
    assert browser.login().status_code == 200
    assert browser.cookie is not None
    assert _revoke(client, browser.cookie) == 200
    assert _revoke(client, account.refresh_token) == 200
    assert browser.profile().status_code == 401
    assert api.profile(account.access_token).status_code == 401
