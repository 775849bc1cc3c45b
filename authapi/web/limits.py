"""Refuse abusive requests before any parsing: oversized bodies and headers, doubled credentials.

A request let through carries its client's address, as authapi/web/addressing.py decides it.
"""

from __future__ import annotations

import asyncio

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from authapi.errors import PayloadTooLarge, RequestTimeout
from authapi.web.addressing import ClientAddresses
from authapi.web.raw_responses import send_problem

# A real access token is well under 1 KiB; 8 KiB leaves room for any sane header.
MAX_AUTHORIZATION_BYTES = 8192
# A header integer (RFC 9110's 1*DIGIT) is read only within these: 19 digits reach past any
# size the app could take, and a bounded length keeps int() from a run of 4,300 digits or
# more, which it refuses with a ValueError, and from the time a long run would take.
MAX_SIGNIFICANT_DIGITS = 19
MAX_INTEGER_HEADER_BYTES = 32
CONTENT_LENGTH_RULE = (
    f"Content-Length must be digits only, at most {MAX_SIGNIFICANT_DIGITS} significant "
    f"digits and {MAX_INTEGER_HEADER_BYTES} characters."
)


class RequestLimitsMiddleware:
    """Apply MAX_BODY_BYTES and REQUEST_READ_TIMEOUT_SECONDS to the body as it streams in.

    It also refuses malformed credentials before anything else reads them, and records the
    client's address of each request it lets through.
    """

    def __init__(
        self,
        app: ASGIApp,
        max_body_bytes: int,
        client_addresses: ClientAddresses,
        read_timeout_seconds: float = 30,
    ) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        # Addressed here rather than in a middleware of its own: one layer less per request.
        self.client_addresses = client_addresses
        self.read_timeout_seconds = read_timeout_seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        authorizations = [v for k, v in scope["headers"] if k == b"authorization"]
        if len(authorizations) > 1:
            await send_problem(
                send,
                400,
                "Bad Request",
                "Send one Authorization header, not several.",
                {"WWW-Authenticate": 'Bearer realm="auth-api", error="invalid_request"'},
            )
            return
        if authorizations and len(authorizations[0]) > MAX_AUTHORIZATION_BYTES:
            await send_problem(
                send,
                431,
                "Request Header Fields Too Large",
                "The Authorization header is too large.",
            )
            return
        declared = _content_length(scope)
        if declared == -1:
            await send_problem(send, 400, "Bad Request", CONTENT_LENGTH_RULE)
            return
        if declared is not None and declared > self.max_body_bytes:
            await send_problem(
                send,
                413,
                "Content Too Large",
                f"The body must be at most {self.max_body_bytes} bytes.",
            )
            return
        chunked = declared is None and _is_chunked(scope)
        if (chunked or (declared or 0) > 0) and not _has_header(scope, b"content-type"):
            # Connexion validates a body without a type as JSON, then hands the handler raw
            # bytes: refused here, before either can disagree about what the body is.
            await send_problem(
                send,
                415,
                "Unsupported Media Type",
                "A request body needs a Content-Type header: application/json.",
            )
            return
        self.client_addresses.stamp(scope)
        receive = self._timed(receive)
        if chunked:
            # Connexion reads a body only when Content-Length is set, so a chunked body is
            # gathered here (never past MAX_BODY_BYTES) and handed on with its length.
            try:
                body = await _read_all(self._limited(receive))
            except (PayloadTooLarge, RequestTimeout) as error:
                await send_problem(send, error.status, error.title, error.detail, error.headers)
                return
            scope = {
                **scope,
                "headers": [*scope["headers"], (b"content-length", b"%d" % len(body))],
            }
            receive = _replay(body, receive)
        await self.app(scope, self._limited(receive), send)

    def _timed(self, receive: Receive) -> Receive:
        # One deadline for the whole body, from the moment the headers were in: a client
        # that trickles a byte at a time cannot stretch it the way a per-read timeout could.
        deadline = asyncio.get_running_loop().time() + self.read_timeout_seconds
        complete = False

        async def timed_receive() -> Message:
            nonlocal complete
            if complete:
                # Past the body, a receive waits for the disconnect, for as long as it takes.
                return await receive()
            try:
                async with asyncio.timeout_at(deadline):
                    message = await receive()
            except TimeoutError:
                seconds = f"{self.read_timeout_seconds:g}"
                raise RequestTimeout(
                    f"The request body must arrive within {seconds} seconds."
                ) from None
            complete = message["type"] != "http.request" or not message.get("more_body", False)
            return message

        return timed_receive

    def _limited(self, receive: Receive) -> Receive:
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            # A chunked or lying body is cut off as it arrives, never buffered whole.
            if received > self.max_body_bytes:
                raise PayloadTooLarge(f"The body must be at most {self.max_body_bytes} bytes.")
            return message

        return limited_receive


def _has_header(scope: Scope, name: bytes) -> bool:
    return any(key == name for key, _ in scope["headers"])


def _is_chunked(scope: Scope) -> bool:
    return any(
        name == b"transfer-encoding" and b"chunked" in value.lower()
        for name, value in scope["headers"]
    )


async def _read_all(receive: Receive) -> bytes:
    parts = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        parts.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(parts)


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


def header_integer(value: bytes) -> int | None:
    """Read a header's whole number within the bound, or return None for anything else."""
    # bytes.isdigit() is ASCII only: no Arabic-Indic or superscript digits get through.
    if not value.isdigit() or len(value) > MAX_INTEGER_HEADER_BYTES:
        return None
    if len(value.lstrip(b"0")) > MAX_SIGNIFICANT_DIGITS:
        return None
    return int(value)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope["headers"]:
        if name == b"content-length":
            length = header_integer(value)
            return -1 if length is None else length
    return None
