"""The bench's HTTP/1.1 client: one wire format, and a connection that sends one request at a time.

`encode_request` and `parse_head` serve both kinds of connection: the closed loop of
`bench.harness.loadgen` and `Connection` here, on asyncio streams, which the login storm
(`bench.harness.storm_load`), registration (`register_all`), the chained flows
(`bench.harness.chains`) and the soak's churn use.
"""

from __future__ import annotations

import asyncio
import json
import secrets
from collections.abc import Awaitable, Mapping, Sequence
from typing import Any, NamedTuple, TypeVar
from urllib.parse import urlsplit

from bench.harness.paths import REGISTER_PATH

T = TypeVar("T")
# A login waits at most HASH_QUEUE_TIMEOUT_SECONDS for a hashing thread, then hashes.
LOGIN_TIMEOUT = 30.0


def encode_request(
    method: str,
    netloc: str,
    path: str,
    headers: Mapping[str, str] | None = None,
    body: Any = None,
) -> bytes:
    """Encode one HTTP/1.1 request, with `body` (if any) as JSON."""
    lines = [f"{method} {path} HTTP/1.1", f"Host: {netloc}"]
    lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
    payload = b"" if body is None else json.dumps(body).encode()
    if body is not None:
        lines += ["Content-Type: application/json", f"Content-Length: {len(payload)}"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + payload


class Head(NamedTuple):
    """What a response head says about the response: status, body length, and closing."""

    status: int
    # None when the head gives no length: a chunked body, or one that ends with the connection.
    length: int | None
    chunked: bool
    closing: bool


def parse_head(head: bytes) -> Head:
    """Read a response head, with or without its final blank line."""
    lowered = head.lower()
    status = int(lowered[9:12])
    closing = b"\r\nconnection: close" in lowered
    if status in (204, 304):
        # These never carry a body, and uvicorn sends them without Content-Length.
        return Head(status, 0, False, closing)
    at = lowered.find(b"\r\ncontent-length:")
    if at >= 0:
        line_end = lowered.find(b"\r\n", at + 2)
        length = int(lowered[at + 17 : line_end if line_end >= 0 else None])
        return Head(status, length, False, closing)
    return Head(status, None, b"\r\ntransfer-encoding: chunked" in lowered, closing)


class RequestFailed(Exception):
    """The connection broke, or the answer was not HTTP the client can read."""


class Connection:
    """One keep-alive HTTP/1.1 connection that sends one request at a time."""

    def __init__(self, base_url: str) -> None:
        parts = urlsplit(base_url)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        self.netloc = parts.netloc
        self._streams: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None
        # The last answer's Retry-After in seconds, when it was a 503 that carried one.
        self.retry_after: int | None = None

    def request(
        self, method: str, path: str, headers: Mapping[str, str] | None = None, body: Any = None
    ) -> bytes:
        """Encode one request for this connection."""
        return encode_request(method, self.netloc, path, headers, body)

    async def open(self) -> None:
        """Connect now, so that the first request does not pay for it."""
        if self._streams is None:
            self._streams = await asyncio.open_connection(self.host, self.port)

    async def send(self, request: bytes, timeout: float) -> tuple[int, bytes]:
        """Send `request` and return the status and body; raise TimeoutError or RequestFailed."""
        try:
            async with asyncio.timeout(timeout):
                if self._streams is None:
                    self._streams = await asyncio.open_connection(self.host, self.port)
                reader, writer = self._streams
                writer.write(request)
                raw_head = await reader.readuntil(b"\r\n\r\n")
                head = parse_head(raw_head)
                self.retry_after = _retry_after(raw_head) if head.status == 503 else None
                if head.length is None:
                    raise ValueError("a body without Content-Length")
                body = await reader.readexactly(head.length)
        except TimeoutError:
            self.close()
            raise
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError):
            self.close()
            raise RequestFailed() from None
        if head.closing:
            self.close()
        return head.status, body

    def close(self) -> None:
        """Drop the connection; the next request opens another."""
        if self._streams is not None:
            self._streams[1].close()
            self._streams = None


def _retry_after(head: bytes) -> int | None:
    at = head.lower().find(b"\r\nretry-after:")
    if at < 0:
        return None
    line_end = head.find(b"\r\n", at + 2)
    value = head[at + 14 : line_end if line_end >= 0 else None].strip()
    return int(value) if value.isdigit() else None


def fresh_users(prefix: str, count: int) -> list[tuple[str, str]]:
    """Make `count` (email, password) pairs that no earlier run used."""
    tag = secrets.token_hex(4)
    return [
        (f"{prefix}-{tag}-{number:04d}@example.com", f"{prefix} {secrets.token_urlsafe(12)}")
        for number in range(count)
    ]


async def register_all(base_url: str, users: Sequence[tuple[str, str]], concurrency: int) -> int:
    """Register every user, `concurrency` at a time, retrying a shed one; count the 503s."""
    pending = list(reversed(users))
    shed = 0

    async def worker() -> None:
        nonlocal shed
        connection = Connection(base_url)
        while pending:
            email, password = pending.pop()
            request = connection.request(
                "POST", REGISTER_PATH, body={"email": email, "password": password}
            )
            while True:
                status, body = await connection.send(request, LOGIN_TIMEOUT)
                if status == 201:
                    break
                if status != 503:
                    raise RuntimeError(f"registering a storm user answered {status}: {body!r}")
                shed += 1
        connection.close()

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return shed


def run(coroutine: Awaitable[T]) -> T:
    """Run a coroutine on uvloop when it is installed, else on asyncio's own loop."""

    async def main() -> T:
        return await coroutine

    try:
        import uvloop
    except ImportError:
        return asyncio.run(main())
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(main())
