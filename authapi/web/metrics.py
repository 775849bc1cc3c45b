"""Prometheus metrics for operators: requests, auth events, the hashing queue, live sessions.

Served at `/metrics` by a small app of its own, outside the public API spec, behind
`METRICS_TOKEN` when it is set.
"""

from __future__ import annotations

import hmac
from typing import TYPE_CHECKING

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from starlette.types import ASGIApp, Receive, Scope, Send

from authapi.errors import StoreUnavailable

if TYPE_CHECKING:
    # services.py builds the Metrics of this module: the slot is named for the type checker only.
    from authapi.web.services import ServicesSlot

METRICS_PATH = "/metrics"

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


class Metrics:
    """One registry per app, so that every app (and every test) counts on its own."""

    def __init__(self, token: str | None = None) -> None:
        self.token = token
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "authapi_http_requests",
            "HTTP requests by operation, method and status.",
            ["operation", "method", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "authapi_http_request_duration_seconds",
            "Time to answer a request, by operation.",
            ["operation"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.events = Counter(
            "authapi_auth_events",
            "Auth events: registrations, logins, refreshes, reuse detections, logouts, throttling.",
            ["event"],
            registry=self.registry,
        )
        self.hash_queue_depth = Gauge(
            "authapi_hash_queue_depth",
            "Password hashes waiting for a bcrypt thread.",
            registry=self.registry,
        )
        self.hash_wait = Histogram(
            "authapi_hash_queue_wait_seconds",
            "Time a password hash waited for a bcrypt thread.",
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.live_sessions = Gauge(
            "authapi_live_sessions", "Sessions neither expired nor revoked.", registry=self.registry
        )
        # The labelled series of each (operation, method, status), looked up once each.
        self._series: dict[tuple[str, str, int], tuple[Counter, Histogram]] = {}

    def observe_request(self, operation: str, method: str, status: int, seconds: float) -> None:
        """Count one answered request."""
        key = (operation, method, status)
        series = self._series.get(key)
        if series is None:
            series = self._series[key] = (
                self.requests.labels(operation, method, str(status)),
                self.latency.labels(operation),
            )
        count, latency = series
        count.inc()
        latency.observe(seconds)

    def allows(self, authorization: bytes | None) -> bool:
        """Tell whether a scrape may read the metrics, given its raw Authorization header."""
        if not self.token:
            return True
        # Bytes on both sides: compare_digest refuses a str with non-ASCII characters.
        expected = b"Bearer " + self.token.encode()
        return authorization is not None and hmac.compare_digest(authorization, expected)

    def render(self, live_sessions: int | None) -> tuple[bytes, str]:
        """Return the exposition text and its content type."""
        if live_sessions is not None:
            self.live_sessions.set(live_sessions)
        return generate_latest(self.registry), CONTENT_TYPE_LATEST


class EventCounter:
    """Count auth events as `log_event` records them, not as the log lets them through."""

    def __init__(self, metrics: Metrics) -> None:
        self.metrics = metrics
        # The labelled series of each event, looked up once each.
        self._series: dict[str, Counter] = {}

    def __call__(self, event: str) -> None:
        series = self._series.get(event)
        if series is None:
            series = self._series[event] = self.metrics.events.labels(event)
        series.inc()


class MetricsApp:
    """The scrape endpoint: the exposition text, with the live sessions counted as it is read."""

    def __init__(self, slot: ServicesSlot) -> None:
        self.slot = slot

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        services = self.slot.services
        # The app routes here only when its settings switch metrics on, and so built them.
        metrics = services.metrics
        assert metrics is not None
        authorization = next((v for k, v in scope["headers"] if k == b"authorization"), None)
        if not metrics.allows(authorization):
            await _send(
                send, 401, b"", "text/plain", {"WWW-Authenticate": 'Bearer realm="metrics"'}
            )
            return
        try:
            live = await services.store.count_live_sessions(services.auth.now())
        except StoreUnavailable:
            live = None
        body, content_type = metrics.render(live)
        await _send(send, 200, body, content_type, {"Cache-Control": "no-store"})


class MetricsRoute:
    """Hand `/metrics` to its own app, ahead of the API's request ids, access log and counts."""

    def __init__(self, app: ASGIApp, endpoint: ASGIApp) -> None:
        self.app = app
        self.endpoint = endpoint

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] == METRICS_PATH:
            await self.endpoint(scope, receive, send)
            return
        await self.app(scope, receive, send)


async def _send(
    send: Send, status: int, body: bytes, content_type: str, headers: dict[str, str]
) -> None:
    raw = [(b"content-type", content_type.encode()), (b"content-length", str(len(body)).encode())]
    raw += [(k.lower().encode(), v.encode()) for k, v in headers.items()]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})
