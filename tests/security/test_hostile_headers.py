"""Arbitrary bytes in every header the app reads, through the whole middleware stack: no 5xx.

The ASGI scope is built by hand, so the header values really are arbitrary bytes (NUL,
CR, LF, non-ASCII, invalid UTF-8), not only what an HTTP client would agree to send.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from anyio.from_thread import BlockingPortal, start_blocking_portal
from asgi_lifespan import LifespanManager
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from authapi.web.app import create_app
from tests.api_moves import PASSWORD, Api
from tests.backends import BACKENDS, storage_url
from tests.clock import Clock
from tests.config import settings_for

METRICS_TOKEN = "scrape-me"
ORIGIN = b"https://app.example"
CREDENTIALS = json.dumps({"email": "ada@example.com", "password": PASSWORD}).encode()
# Stands for a valid access token, known only once the fixture has logged in.
VALID_BEARER = b"<valid bearer>"
REQUESTS = [
    ("GET", "/api/v1/protected/profile", b""),
    ("POST", "/api/v1/auth/login", CREDENTIALS),
    ("POST", "/api/v1/tasks", json.dumps({"title": "Buy milk"}).encode()),
    ("GET", "/metrics", b""),
    ("GET", "/health", b""),
    ("OPTIONS", "/api/v1/auth/login", b""),
]
# Values that reach deeper than random bytes would: well-formed ones and near misses.
SEEDS: dict[bytes, list[bytes]] = {
    b"authorization": [
        VALID_BEARER,
        b"Bearer " + METRICS_TOKEN.encode(),
        b"Bearer scrape-m\xc3\xa9",
        b"Bearer \xff\xfe",
        b"bearer   x.y.z",
        b"Basic YWRhOnB3",
        b"Bearer " + b"x" * 9000,
    ],
    b"x-forwarded-for": [
        b"192.0.2.1",
        b"2001:db8:1:2::1",
        b"::ffff:192.0.2.1",
        b"fe80::1%eth0",
        b"x" * 300,
        b"192.0.2.1, 127.0.0.1",
        b"192.0.2.1:443",
        b",,,",
    ],
    b"x-request-id": [b"abc-123", b"a" * 65, b"\xff", b"id\r\nx-injected: 1"],
    b"content-type": [
        b"application/json",
        b"application/json; charset=utf-8",
        b"application/json; charset=utf-32",
        b"application/json; charset=\xff",
        b"application/json; charset=nonsense",
        b"application/problem+json",
        b"text/plain",
        b"multipart/form-data; boundary=x",
        b"application/x-www-form-urlencoded",
    ],
    b"content-length": [b"0", b"5", b"-1", b"1e3", b" 12", b"\xd9\xa5", b"9" * 30],
    b"user-agent": [b"a" * 1000, b"\x00", b"nul\x00inside", b"\xff" * 300, "é".encode()],
    b"origin": [ORIGIN, b"null", b"https://evil.example", b"\xff"],
    b"cookie": [b"session=x", b"\xff=\xff", b";;;", b"a=" + b"b" * 5000],
}


@st.composite
def hostile_headers(draw: st.DrawFn) -> list[tuple[bytes, bytes]]:
    """Draw a value (or none) for each header the app reads, sometimes sent twice."""
    headers = []
    for name, seeds in SEEDS.items():
        value = draw(st.one_of(st.none(), st.sampled_from(seeds), st.binary(max_size=80)))
        if value is not None:
            headers.append((name, value))
            if draw(st.integers(0, 9)) == 0:
                headers.append((name, draw(st.binary(max_size=20))))
    return headers


@dataclass
class Served:
    """An app in its lifespan, on an event loop of its own, and a token it issued."""

    portal: BlockingPortal
    app: Any
    bearer: bytes = b""

    def send(self, method: str, path: str, headers: list[tuple[bytes, bytes]], body: bytes) -> int:
        """Send one request and return its status."""
        status, _ = self.portal.call(_exchange, self.app, method, path, headers, body)
        return status


async def _exchange(
    app: Any, method: str, path: str, headers: list[tuple[bytes, bytes]], body: bytes
) -> tuple[int, bytes]:
    """Run one request through the app; fail unless it answers exactly once."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [(b"host", b"test"), *headers],
        "client": ("127.0.0.1", 50000),
        "server": ("test", 80),
        "state": {},
    }
    delivered = False

    async def receive() -> dict[str, Any]:
        nonlocal delivered
        if delivered:
            return {"type": "http.disconnect"}
        delivered = True
        return {"type": "http.request", "body": body, "more_body": False}

    starts: list[int] = []
    parts: list[bytes] = []

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            starts.append(message["status"])
        elif message["type"] == "http.response.body":
            parts.append(message.get("body", b""))

    await app(scope, receive, send)
    assert len(starts) == 1, starts
    return starts[0], b"".join(parts)


@pytest.fixture(scope="module", params=["memory", "postgresql"])
def served(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Served]:
    with storage_url(request.param, tmp_path_factory.mktemp("store")) as url:
        config = settings_for(
            storage_url=url,
            metrics_token=METRICS_TOKEN,
            cors_origins=(ORIGIN.decode(),),
            # X-Forwarded-For from the test's peer is read, so its value gets parsed.
            trusted_proxies=("127.0.0.0/8",),
            auth_rate_limit_per_minute=0,
            login_max_failures=0,
        )
        app = create_app(config, validate_responses=True)
        with start_blocking_portal() as portal:
            lifespan = portal.call(_lifespan_of, app)
            with portal.wrap_async_context_manager(lifespan) as manager:
                served = Served(portal, manager.app)
                sized = [
                    (b"content-type", b"application/json"),
                    (b"content-length", b"%d" % len(CREDENTIALS)),
                ]
                for path in ("/api/v1/auth/register", "/api/v1/auth/login"):
                    _, answer = portal.call(_exchange, served.app, "POST", path, sized, CREDENTIALS)
                served.bearer = b"Bearer " + json.loads(answer)["access_token"].encode()
                yield served


async def _lifespan_of(app: Any) -> LifespanManager:
    # Made on the portal's loop: the manager looks for a running event loop when made.
    return LifespanManager(app)


@settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(request=st.sampled_from(REQUESTS), headers=hostile_headers())
def test_arbitrary_header_bytes_never_get_a_server_error(
    served: Served, request: tuple[str, str, bytes], headers: list[tuple[bytes, bytes]]
) -> None:
    method, path, body = request
    headers = [(name, served.bearer if value == VALID_BEARER else value) for name, value in headers]
    if method == "OPTIONS":
        headers.append((b"access-control-request-method", b"POST"))
    if body and not any(name == b"content-length" for name, _ in headers):
        headers.append((b"content-length", b"%d" % len(body)))
    status = served.send(method, path, headers, body)
    assert status < 500, (method, path, headers)


def test_control_the_seeds_reach_the_handlers(served: Served) -> None:
    # Pins the premise: with well-formed headers each request gets through to its handler.
    json_type = (b"content-type", b"application/json")
    bearer = (b"authorization", served.bearer)
    metrics = (b"authorization", b"Bearer " + METRICS_TOKEN.encode())
    sized = (b"content-length", b"%d" % len(CREDENTIALS))
    assert served.send("GET", "/api/v1/protected/profile", [bearer], b"") == 200
    assert served.send("POST", "/api/v1/auth/login", [json_type, sized], CREDENTIALS) == 200
    task = json.dumps({"title": "Buy milk"}).encode()
    task_headers = [json_type, bearer, (b"content-length", b"%d" % len(task))]
    assert served.send("POST", "/api/v1/tasks", task_headers, task) == 201
    assert served.send("GET", "/metrics", [metrics], b"") == 200
    assert served.send("GET", "/health", [], b"") == 200


# -- what this test found, kept as plain regression tests -----------------------------------


@pytest.mark.parametrize(
    "path", ["/api/v1/auth/login", "/api/v1/auth/register", "/api/v1/auth/refresh"]
)
def test_body_without_a_content_type_is_a_415_not_a_500(api: Api, path: str) -> None:
    # Connexion validated such a body as JSON, then handed the handler raw bytes.
    response = api.client.post(path, content=CREDENTIALS)
    assert "content-type" not in response.request.headers
    assert response.status_code == 415, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert "Content-Type" in response.json()["detail"]


def test_request_without_a_body_needs_no_content_type(api: Api) -> None:
    account = api.account()
    response = api.client.post("/api/v1/auth/logout", headers=account.headers)
    assert response.status_code == 204


@pytest.mark.parametrize("backend", BACKENDS)
def test_user_agent_with_control_characters_is_recorded_without_them(
    backend: str, tmp_path: Path, clock: Clock
) -> None:
    # PostgreSQL refuses a NUL in text: a 500 at login until the characters were dropped.
    with storage_url(backend, tmp_path) as url:
        config = settings_for(storage_url=url)
        app = create_app(config, validate_responses=True, clock=clock)
        with app.test_client(client=("127.0.0.1", 50000)) as client:
            api = Api(client)
            api.register()
            client.headers["User-Agent"] = "curl/8\x00\x01\x1b[31m\x7f\tok"
            login = api.login()
            assert login.status_code == 200, login.text
            bearer = {"Authorization": f"Bearer {login.json()['access_token']}"}
            (session,) = client.get("/api/v1/auth/sessions", headers=bearer).json()["items"]
    assert session["user_agent"] == "curl/8[31m\tok"
