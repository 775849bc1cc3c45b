"""A layer outside Connexion's error handling fails: the problem 500, never a bare one.

Before, an error in the limits, the request context, CORS or /metrics reached Connexion
3.3's ServerErrorMiddleware, whose async answer Starlette 0.52 calls synchronously: uvicorn's
text/plain 500 without the security headers or the request id, logged as
`TypeError: 'coroutine' object is not callable` instead of the error that happened.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from connexion.middleware import MiddlewarePosition
from starlette.testclient import TestClient
from starlette.types import ASGIApp, Receive, Scope, Send

from authapi.settings import Settings
from authapi.store.memory import MemoryStore
from authapi.web.app import create_app
from tests.clock import Clock
from tests.config import CHEAP_HASHING, SECRET

# Carried by the failing requests: it must reach neither the answer nor the log.
BEARER = "Bearer never-log-this-bearer-token"
SECURITY_HEADERS = {
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "content-security-policy": "default-src 'none'; frame-ancestors 'none'",
}


class ExplodingMiddleware:
    """An outer middleware that fails on every request, with the credential in its message."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        authorization = dict(scope["headers"]).get(b"authorization", b"").decode()
        raise LookupError(f"exploded while holding {authorization}")


class ExplodingStore(MemoryStore):
    """A store that fails to count the live sessions a /metrics scrape reports."""

    async def count_live_sessions(self, now: int) -> int:
        raise ArithmeticError("the live sessions could not be counted")


@pytest.fixture
def app(request: pytest.FixtureRequest, clock: Clock) -> Any:
    settings = Settings(jwt_secret_key=SECRET, **CHEAP_HASHING, storage_url="memory://")
    if request.param == "metrics store":
        return create_app(settings, store=ExplodingStore(), clock=clock)
    app = create_app(settings, clock=clock)
    app.add_middleware(ExplodingMiddleware, position=MiddlewarePosition.BEFORE_EXCEPTION)
    return app


@pytest.fixture
def failing_client(app: Any) -> Iterator[TestClient]:
    # Answered, not raised into the test: what a client on the wire would get.
    with app.test_client(raise_server_exceptions=False) as test_client:
        yield test_client


def assert_problem_500(response: Any) -> None:
    assert response.status_code == 500, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json() == {
        "type": "about:blank",
        "title": "Internal Server Error",
        "status": 500,
        "detail": "The server could not handle the request.",
    }
    for name, value in SECURITY_HEADERS.items():
        assert response.headers[name] == value, name


def logged_errors(log_lines: list[str]) -> list[dict[str, Any]]:
    return [json.loads(line) for line in log_lines if '"level": "error"' in line]


@pytest.mark.parametrize("app", ["outer middleware"], indirect=True)
@pytest.mark.parametrize("path", ["/api/v1/auth/login", "/health", "/no/such/path"])
def test_raising_outer_middleware_answers_the_problem_500_with_security_headers(
    failing_client: TestClient, log_lines: list[str], path: str
) -> None:
    response = failing_client.post(
        path, json={}, headers={"Authorization": BEARER, "X-Request-ID": "req-outer-1"}
    )
    assert_problem_500(response)
    assert response.headers["x-request-id"] == "req-outer-1"
    assert [(e["exc_type"], e["request_id"]) for e in logged_errors(log_lines)] == [
        ("LookupError", "req-outer-1")
    ]
    assert not any("never-log-this" in line for line in log_lines)
    assert not any("TypeError" in line for line in log_lines)


@pytest.mark.parametrize("app", ["metrics store"], indirect=True)
def test_failing_metrics_scrape_answers_the_problem_500_with_a_request_id(
    failing_client: TestClient, log_lines: list[str]
) -> None:
    response = failing_client.get("/metrics", headers={"Authorization": BEARER})
    assert_problem_500(response)
    request_id = response.headers["x-request-id"]
    assert [(e["exc_type"], e["request_id"]) for e in logged_errors(log_lines)] == [
        ("ArithmeticError", request_id)
    ]
    assert not any("never-log-this" in line for line in log_lines)
