"""The outermost layer: request ids, the access log, security headers, and the services."""

from __future__ import annotations

import logging
import random
import re
import time
from collections.abc import Iterable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from authapi.answering import Answering, serve
from authapi.web.services import SCOPE_KEY, ServicesSlot

access_log = logging.getLogger("authapi.access")
# The key of the request id in each request's ASGI scope, for the error layer outside.
REQUEST_ID_KEY = "authapi.request_id"

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
_COMMON_HEADERS = [(b"x-content-type-options", b"nosniff"), (b"referrer-policy", b"no-referrer")]
# The API only ever answers JSON; the Swagger UI pages need their own scripts and styles.
_API_CSP = b"default-src 'none'; frame-ancestors 'none'"
_DOCS_CSP = (
    b"default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    b"img-src 'self' data:; frame-ancestors 'none'"
)
# Added unless the response set its own; the request id and, on /api, no-store always win.
_API_DEFAULTS = [*_COMMON_HEADERS, (b"content-security-policy", _API_CSP)]
_DOCS_DEFAULTS = [*_COMMON_HEADERS, (b"content-security-policy", _DOCS_CSP)]
_REPLACED = frozenset({b"x-request-id"})
_REPLACED_ON_API = frozenset({b"x-request-id", b"cache-control"})


class RequestContextMiddleware:
    """Tag each request with an id, expose the services to handlers, and log one line."""

    def __init__(self, app: ASGIApp, slot: ServicesSlot) -> None:
        self.app = app
        self.slot = slot

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        services = self.slot.services
        # Handlers read it through `services_in`, the one typed way in.
        scope[SCOPE_KEY] = services
        metrics = services.metrics
        # Shared with Connexion's routing, which records the operation id in it.
        extensions = scope.setdefault("extensions", {})
        request_id = scope[REQUEST_ID_KEY] = request_id_for(scope)
        path: str = scope["path"]
        is_docs = path.startswith("/docs")
        status = 500
        started = time.perf_counter()

        async def send_with_headers(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = with_our_headers(
                    message.get("headers", []), request_id, is_docs, path.startswith("/api/")
                )
            await send(message)
            # Work the use case left for after the answer (authapi/answering.py) may start.
            if message["type"] == "http.response.body" and not message.get("more_body"):
                request.sent()

        # Plain calls rather than `async with answering()`: every request pays for this.
        request = Answering()
        served = serve(request)
        try:
            try:
                await self.app(scope, receive, send_with_headers)
            finally:
                served()
                await request.finish()
        finally:
            duration = time.perf_counter() - started
            if metrics is not None:
                routing = extensions.get("connexion_routing", {})
                operation = routing.get("operation_id") or "unmatched"
                metrics.observe_request(operation, scope["method"], status, duration)
            access_log.info(
                "request",
                extra={
                    "fields": {
                        "request_id": request_id,
                        "method": scope["method"],
                        "path": path,
                        "status": status,
                        "duration_ms": round(duration * 1000, 2),
                    }
                },
            )


def with_our_headers(
    headers: Iterable[tuple[bytes, bytes]], request_id: str, is_docs: bool, is_api: bool
) -> list[tuple[bytes, bytes]]:
    """Return an answer's raw headers with the request id and the security headers."""
    # Raw ASGI header pairs, lower-case names: a handful of appends, no header object.
    replaced = _REPLACED_ON_API if is_api else _REPLACED
    kept = [(name, value) for name, value in headers if name not in replaced]
    present = {name for name, _ in kept}
    kept.append((b"x-request-id", request_id.encode("latin-1")))
    for name, value in _DOCS_DEFAULTS if is_docs else _API_DEFAULTS:
        if name not in present:
            kept.append((name, value))
    if is_api:
        kept.append((b"cache-control", b"no-store"))
    return kept


def request_id_for(scope: Scope) -> str:
    """Return the request's id: the one already given, a well-formed incoming one, or a new one."""
    given: str | None = scope.get(REQUEST_ID_KEY)
    return given or _incoming_request_id(scope) or _new_request_id()


def _new_request_id() -> str:
    # A correlation id, not a secret: the Mersenne Twister (seeded from os.urandom, and
    # again in every forked worker) spares a system call per request that secrets would make.
    return f"{random.getrandbits(128):032x}"


def _incoming_request_id(scope: Scope) -> str | None:
    for name, value in scope["headers"]:
        if name == b"x-request-id":
            candidate = value.decode("latin-1")
            return candidate if _REQUEST_ID.match(candidate) else None
    return None
