"""/metrics: Prometheus text, off the public spec, optionally behind a token."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.testclient import TestClient

from tests.api_moves import Api
from tests.apps import app_for
from tests.clock import Clock
from tests.config import settings_for


@pytest.fixture
def store_url() -> str:
    return "memory://"


def test_metrics_count_requests_events_and_live_sessions(api: Api, clock: Any) -> None:
    account = api.account()
    api.login("ada@example.com", "wrong password!")
    api.refresh(account.refresh_token)
    api.profile(account.access_token)
    text = api.client.get("/metrics").text
    profile_ok = 'operation="handlers.profile.get_profile",status="200"'
    assert f'authapi_http_requests_total{{method="GET",{profile_ok}}} 1.0' in text
    assert 'authapi_auth_events_total{event="login_failed"} 1.0' in text
    assert 'authapi_auth_events_total{event="refresh"} 1.0' in text
    assert "authapi_live_sessions 1.0" in text
    assert "authapi_hash_queue_wait_seconds_count" in text
    assert "authapi_http_request_duration_seconds_bucket" in text


def test_a_scrape_is_not_counted_as_an_api_request(api: Api) -> None:
    api.client.get("/metrics")
    text = api.client.get("/metrics").text
    assert 'operation="unmatched"' not in text
    assert "authapi_http_requests_total{" not in text


def test_metrics_are_not_part_of_the_public_spec(api: Api) -> None:
    assert "/metrics" not in api.client.get("/openapi.json").json()["paths"]


@pytest.mark.settings(metrics_token="scrape-me")
def test_metrics_token_is_required_when_set(client: TestClient) -> None:
    assert client.get("/metrics").status_code == 401
    wrong = client.get("/metrics", headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401
    right = client.get("/metrics", headers={"Authorization": "Bearer scrape-me"})
    assert right.status_code == 200
    assert right.headers["content-type"].startswith("text/plain")


@pytest.mark.settings(metrics_token="scrape-me")
@pytest.mark.parametrize(
    "authorization",
    ["Bearer scrape-mé".encode(), b"Bearer \xff\xfe", "Bearer 🔑".encode(), b"\x80"],
)
def test_metrics_token_with_non_ascii_bytes_is_a_401_not_a_500(
    client: TestClient, authorization: bytes
) -> None:
    # httpx sends bytes header values as they are, non-ASCII included.
    response = client.get("/metrics", headers={"Authorization": authorization})
    assert response.status_code == 401


@pytest.mark.settings(metrics_token="clé-secrète")
def test_metrics_token_with_non_ascii_characters_is_matched_as_utf8(client: TestClient) -> None:
    right = client.get("/metrics", headers={"Authorization": "Bearer clé-secrète".encode()})
    assert right.status_code == 200


@pytest.mark.settings(metrics_enabled=False)
def test_metrics_can_be_switched_off(client: TestClient) -> None:
    assert client.get("/metrics").status_code == 404


@pytest.mark.parametrize("log_level", ["WARNING", "ERROR", "CRITICAL"])
def test_auth_events_are_counted_whatever_the_log_level(log_level: str, clock: Clock) -> None:
    with TestClient(app_for(settings_for(log_level=log_level), clock=clock)) as client:
        api = Api(client)
        api.account()
        api.login("ada@example.com", "wrong password!")
        text = client.get("/metrics").text
    for event in ("register", "login", "login_failed"):
        assert f'authapi_auth_events_total{{event="{event}"}} 1.0' in text
