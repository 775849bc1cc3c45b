"""Prometheus metrics for operators: requests, auth events, the hashing queue, live sessions.

Served at `/metrics` by a small app of its own, outside the public API spec, behind
`METRICS_TOKEN` when it is set. Failed scrapes count against the client address's limit
(`AUTH_RATE_LIMIT_PER_MINUTE`), as failed client authentications at introspection do.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
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

from authapi.errors import StoreUnavailable, TooManyRequests
from authapi.events import Events
from authapi.store.base import CounterStore
from authapi.throttle import ADDRESS_WINDOW_SECONDS, NO_ADDRESS
from authapi.web.addressing import ClientAddresses, client_address_in
from authapi.web.raw_responses import send_problem, send_response

if TYPE_CHECKING:
    # services.py builds the Metrics of this module: the slot is named for the type checker only.
    from authapi.web.services import ServicesSlot

METRICS_PATH = "/metrics"
METRICS_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="metrics"'}

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
    """Count auth events as `Events` emits them, not as the log lets them through."""

    def __init__(self, metrics: Metrics) -> None:
        self.metrics = metrics
        # The labelled series of each event, looked up once each.
        self._series: dict[str, Counter] = {}

    def __call__(self, event: str) -> None:
        series = self._series.get(event)
        if series is None:
            series = self._series[event] = self.metrics.events.labels(event)
        series.inc()


class ScrapeThrottle:
    """Count failed scrapes per client address; past the limit, refuse every scrape from it."""

    def __init__(
        self, store: CounterStore, per_minute: int, now: Callable[[], int], events: Events
    ) -> None:
        self.store = store
        self.per_minute = per_minute
        self.now = now
        self.events = events

    async def admit(self, address: str | None, allowed: bool) -> None:
        """Count a wrong token; refuse with 429 once the address has used up its failures."""
        if not self.per_minute:
            return
        now = self.now()
        key = _scrape_key(address)
        if allowed:
            try:
                hits = await self.store.peek(key, ADDRESS_WINDOW_SECONDS, now)
            except StoreUnavailable:
                # The right token, and no count to read: a scrape is most needed while the
                # store is down.
                return
            earlier = hits.count
        else:
            # Counted in one atomic store operation, so a burst of parallel guesses gets no
            # more answers than the limit; StoreUnavailable refuses a guess it cannot count.
            hits = await self.store.hit(key, ADDRESS_WINDOW_SECONDS, now)
            earlier = hits.count - 1
        # Once the failures are used up the right token is refused too: otherwise a 429
        # would only mean "wrong", and the guessing would go on unhindered.
        if earlier >= self.per_minute:
            self.events.emit("throttled", scope="metrics_address")
            raise TooManyRequests(hits.resets_at - now)


def _scrape_key(address: str | None) -> str:
    # Hashed, as the throttle's keys are: counters never hold an address in the clear.
    text = NO_ADDRESS if address is None else address
    return f"metrics:{hashlib.sha256(text.encode()).hexdigest()}"


class MetricsApp:
    """The scrape endpoint: the exposition text, with the live sessions counted as it is read."""

    def __init__(
        self, slot: ServicesSlot, client_addresses: ClientAddresses, failures_per_minute: int
    ) -> None:
        self.slot = slot
        # /metrics is answered before the request limits, which address every other request.
        self.client_addresses = client_addresses
        self.failures_per_minute = failures_per_minute

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        services = self.slot.services
        # The app routes here only when its settings switch metrics on, and so built them.
        metrics = services.metrics
        assert metrics is not None
        if metrics.token:
            authorization = next((v for k, v in scope["headers"] if k == b"authorization"), None)
            allowed = metrics.allows(authorization)
            self.client_addresses.stamp(scope)
            throttle = ScrapeThrottle(
                services.store, self.failures_per_minute, services.sessions.now, services.events
            )
            try:
                await throttle.admit(client_address_in(scope), allowed)
            except (TooManyRequests, StoreUnavailable) as refused:
                await send_problem(
                    send, refused.status, refused.title, refused.detail, refused.headers
                )
                return
            if not allowed:
                await send_problem(
                    send,
                    401,
                    "Unauthorized",
                    "A scrape needs Authorization: Bearer and the metrics token.",
                    METRICS_CHALLENGE,
                )
                return
        try:
            live = await services.store.count_live_sessions(services.sessions.now())
        except StoreUnavailable:
            live = None
        body, content_type = metrics.render(live)
        await send_response(send, 200, body, content_type, {"Cache-Control": "no-store"})


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
