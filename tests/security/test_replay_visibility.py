"""A spent refresh token replayed within the grace window: refused, and seen.

The grace window keeps a session alive when two tabs race, so a thief who refreshed first
with a stolen token revokes nothing. The replay is then an auth event and a metric of its
own, naming both clients: the one that logged in and the one replaying; the rotation
before it names the client that refreshed first.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from starlette.testclient import TestClient

from tests.api_moves import PASSWORD
from tests.clock import Clock
from tests.forgery import claims_of
from tests.security.refusals import assert_token_refused

GRACE = 10  # REFRESH_REUSE_GRACE_SECONDS
PROXY = ("10.0.0.1", 50000)
VICTIM = {"User-Agent": "victim-phone/1.0", "X-Forwarded-For": "192.0.2.10"}
THIEF = {"User-Agent": "thief-script/0.1", "X-Forwarded-For": "198.51.100.66"}


# Behind a trusted proxy, so that each client's own address is what the service sees.
pytestmark = pytest.mark.settings(trusted_proxies=("10.0.0.0/8",))


@pytest.fixture
def client(app: Any) -> Iterator[TestClient]:
    with app.test_client(client=PROXY) as test_client:
        yield test_client


def post(client: TestClient, path: str, body: dict[str, str], headers: dict[str, str]) -> Any:
    return client.post(f"/api/v1/auth/{path}", json=body, headers=headers)


def events_named(log_lines: list[str], event: str) -> list[dict[str, Any]]:
    lines = [json.loads(line) for line in log_lines]
    return [line for line in lines if line.get("event") == event]


def test_a_thief_who_refreshed_first_is_seen_when_the_victim_retries(
    client: TestClient, log_lines: list[str], clock: Clock
) -> None:
    credentials = {"email": "victim@example.com", "password": PASSWORD}
    assert post(client, "register", credentials, VICTIM).status_code == 201
    stolen = post(client, "login", credentials, VICTIM).json()["refresh_token"]
    thief = post(client, "refresh", {"refresh_token": stolen}, THIEF)
    assert thief.status_code == 200
    clock.advance(GRACE - 5)

    assert_token_refused(post(client, "refresh", {"refresh_token": stolen}, VICTIM))

    session_id = claims_of(stolen)["sid"]
    (replayed,) = events_named(log_lines, "refresh_replayed")
    assert replayed["user_id"] == claims_of(stolen)["sub"]
    assert replayed["session_id"] == session_id
    assert replayed["login_address"] == "192.0.2.10"
    assert replayed["login_user_agent"] == "victim-phone/1.0"
    assert replayed["replayer_address"] == "192.0.2.10"
    assert replayed["replayer_user_agent"] == "victim-phone/1.0"
    # The rotation the replay ran into names the client that refreshed first: the thief.
    (rotation,) = events_named(log_lines, "refresh")
    assert rotation["session_id"] == session_id
    assert rotation["address"] == "198.51.100.66"
    assert rotation["user_agent"] == "thief-script/0.1"
    assert not any(stolen in line or thief.json()["refresh_token"] in line for line in log_lines)
    metrics = client.get("/metrics").text
    assert 'authapi_auth_events_total{event="refresh_replayed"} 1.0' in metrics
    assert 'authapi_auth_events_total{event="reuse_detected"}' not in metrics  # none revoked


def test_a_replay_after_the_grace_window_is_reuse_not_a_replay_event(
    client: TestClient, log_lines: list[str], clock: Clock
) -> None:
    credentials = {"email": "victim@example.com", "password": PASSWORD}
    post(client, "register", credentials, VICTIM)
    stolen = post(client, "login", credentials, VICTIM).json()["refresh_token"]
    assert post(client, "refresh", {"refresh_token": stolen}, THIEF).status_code == 200
    clock.advance(GRACE + 1)
    assert_token_refused(post(client, "refresh", {"refresh_token": stolen}, VICTIM))
    assert events_named(log_lines, "refresh_replayed") == []
    assert len(events_named(log_lines, "reuse_detected")) == 1
