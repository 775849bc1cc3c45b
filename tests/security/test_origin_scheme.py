"""A page on the API's host but the other scheme is another origin: the browser check refuses it.

Before, the Origin check compared host and port only: `http://auth.example.com`, a page any
network on the way can write, passed against the API served at `https://auth.example.com`,
and the other way round. The API's own scheme is the connection's, or the one a proxy in
TRUSTED_PROXIES reports in `X-Forwarded-Proto`, never one the client names.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from starlette.testclient import TestClient

from authapi.settings import Settings
from authapi.web.app import create_app
from tests.api_moves import PASSWORD
from tests.clock import Clock
from tests.config import CHEAP_HASHING, SECRET

LOGIN = "/api/v1/auth/browser/login"
CREDENTIALS = {"email": "ada@example.com", "password": PASSWORD}
PEER = ("127.0.0.1", 50000)


def serve(clock: Clock, base_url: str, **settings: Any) -> Iterator[TestClient]:
    """Serve an app to a client at `base_url` (its scheme is the connection's)."""
    config = Settings(jwt_secret_key=SECRET, **CHEAP_HASHING, storage_url="memory://", **settings)
    app = create_app(config, validate_responses=True, clock=clock)
    with app.test_client(base_url=base_url, client=PEER) as client:
        assert client.post("/api/v1/auth/register", json=CREDENTIALS).status_code == 201
        yield client


@pytest.fixture
def http_api(clock: Clock) -> Iterator[TestClient]:
    yield from serve(clock, "http://auth.example.com")


@pytest.fixture
def https_api(clock: Clock) -> Iterator[TestClient]:
    yield from serve(clock, "https://auth.example.com")


@pytest.fixture
def proxied_api(clock: Clock) -> Iterator[TestClient]:
    # TLS ends at the proxy: the app's own connection is plain http.
    yield from serve(clock, "http://auth.example.com", trusted_proxies=(PEER[0],))


def browser_login(client: TestClient, origin: str, **headers: str) -> int:
    response = client.post(LOGIN, json=CREDENTIALS, headers={"Origin": origin, **headers})
    if response.status_code == 403:
        assert response.json()["detail"].startswith("Origin:")
    return response.status_code


@pytest.mark.parametrize("origin", ["https://auth.example.com", "https://AUTH.example.com"])
def test_https_page_on_the_apis_host_is_refused_by_an_http_api(
    http_api: TestClient, origin: str
) -> None:
    assert browser_login(http_api, origin) == 403


def test_http_page_on_the_apis_host_is_refused_by_an_https_api(https_api: TestClient) -> None:
    assert browser_login(https_api, "http://auth.example.com") == 403


def test_the_apis_own_origin_is_accepted_on_either_scheme(
    http_api: TestClient, https_api: TestClient
) -> None:
    assert browser_login(http_api, "http://auth.example.com") == 200
    assert browser_login(https_api, "https://auth.example.com") == 200
    assert browser_login(https_api, "https://auth.example.com:443") == 200


def test_scheme_reported_by_a_trusted_proxy_is_the_apis_own(proxied_api: TestClient) -> None:
    forwarded = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.7"}
    assert browser_login(proxied_api, "https://auth.example.com", **forwarded) == 200
    assert browser_login(proxied_api, "http://auth.example.com", **forwarded) == 403


def test_client_cannot_name_its_own_scheme_without_a_trusted_proxy(http_api: TestClient) -> None:
    forwarded = {"X-Forwarded-Proto": "https"}
    assert browser_login(http_api, "https://auth.example.com", **forwarded) == 403


@pytest.mark.parametrize("proto", ["https, http", "https,https", "wss", "https;", ""])
def test_a_proxy_report_that_is_not_one_scheme_leaves_the_connections(
    proxied_api: TestClient, proto: str
) -> None:
    forwarded = {"X-Forwarded-Proto": proto}
    assert browser_login(proxied_api, "https://auth.example.com", **forwarded) == 403


def test_public_origin_listed_in_cors_origins_is_accepted_behind_a_proxy(clock: Clock) -> None:
    # The other way to name the API's public origin: list it, as for a Host-rewriting proxy.
    for client in serve(clock, "http://10.0.0.5:8000", cors_origins=("https://auth.example.com",)):
        assert browser_login(client, "https://auth.example.com") == 200
        assert browser_login(client, "http://auth.example.com") == 403
