"""Logs: one JSON line per request and per auth event, and never a secret."""

from __future__ import annotations

import json
import logging

import pytest

from tests.api_moves import Api
from tests.backends import decided_before_the_store
from tests.config import SECRET


@pytest.fixture
def log_lines(caplog: pytest.LogCaptureFixture) -> list[dict[str, object]]:
    caplog.set_level(logging.INFO)
    lines: list[dict[str, object]] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(json.loads(logging.getLogger().handlers[0].format(record)))

    handler = Collect()
    logging.getLogger().addHandler(handler)
    yield lines
    logging.getLogger().removeHandler(handler)


@decided_before_the_store
def test_each_request_is_logged_once_with_its_id(api: Api, log_lines: list[dict]) -> None:
    response = api.client.get("/health", headers={"X-Request-ID": "trace-1"})
    requests = [line for line in log_lines if line.get("msg") == "request"]
    assert len(requests) == 1
    assert requests[0]["request_id"] == "trace-1" == response.headers["x-request-id"]
    assert requests[0]["method"] == "GET"
    assert requests[0]["path"] == "/health"
    assert requests[0]["status"] == 200
    assert isinstance(requests[0]["duration_ms"], float)


def test_auth_events_are_logged(api: Api, log_lines: list[dict]) -> None:
    account = api.account()
    api.login("ada@example.com", "wrong password!")
    api.refresh(account.refresh_token)
    api.logout(account.access_token)
    api.profile(account.access_token)
    events = [line.get("event") for line in log_lines if "event" in line]
    for event in ("register", "login", "login_failed", "refresh", "logout", "token_refused"):
        assert event in events
    refused = next(line for line in log_lines if line.get("event") == "token_refused")
    assert refused["reason"] == "revoked"


def test_reuse_detection_is_logged(api: Api, log_lines: list[dict], clock: object) -> None:
    account = api.account()
    api.refresh(account.refresh_token)
    clock.advance(11)  # type: ignore[attr-defined]
    api.refresh(account.refresh_token)
    assert "reuse_detected" in [line.get("event") for line in log_lines]


def test_no_password_token_hash_or_key_is_ever_logged(
    api: Api, log_lines: list[dict], capsys: pytest.CaptureFixture[str]
) -> None:
    password = "a-very-distinctive-password"
    api.register("ada@example.com", password)
    api.register("bob@example.com", "short")
    tokens = api.login("ada@example.com", password).json()
    api.login("ada@example.com", password + "-wrong")
    api.refresh(tokens["refresh_token"])
    api.profile(tokens["access_token"] + "x")
    api.logout(tokens["access_token"])
    text = json.dumps(log_lines) + capsys.readouterr().out
    for secret in (password, "short", tokens["access_token"], tokens["refresh_token"], SECRET):
        assert secret not in text
    assert "$2b$" not in text
