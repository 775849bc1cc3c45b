"""Refuse abusive requests before any parsing: oversized bodies and headers, doubled credentials.

It also decides the client's address, as the key its limits are counted under: the socket's
peer, or the `X-Forwarded-For` entry that a trusted proxy reported; IPv4 dotted (an
IPv4-mapped IPv6 address counts as its IPv4 address), IPv6 as its network of
CLIENT_IPV6_PREFIX bits (`2001:db8:1:2::/64`), and None for a peer without an IP address.
Never a raw header value.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
from collections.abc import Mapping
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from authapi.errors import PayloadTooLarge, RequestTimeout

# The key of the client's address in each request's ASGI scope; read through `client_address_in`.
CLIENT_ADDRESS_KEY = "authapi.client_address"
# A real access token is well under 1 KiB; 8 KiB leaves room for any sane header.
MAX_AUTHORIZATION_BYTES = 8192
# The longest IPv6 text is 45 characters, plus a zone (`%eth0`); anything longer is garbage.
MAX_ADDRESS_LENGTH = 64
Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address


class RequestGuardMiddleware:
    """Apply MAX_BODY_BYTES and REQUEST_READ_TIMEOUT_SECONDS to the body as it streams in.

    It also refuses malformed credentials before anything else reads them.
    """

    def __init__(
        self,
        app: ASGIApp,
        max_body_bytes: int,
        trusted_proxies: tuple[str, ...],
        ipv6_prefix: int = 64,
        read_timeout_seconds: float = 30,
    ) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.ipv6_prefix = ipv6_prefix
        self.read_timeout_seconds = read_timeout_seconds
        self.trusted: tuple[Network, ...] = tuple(
            ipaddress.ip_network(proxy, strict=False) for proxy in trusted_proxies
        )
        # Peer text -> (its key, itself if a trusted proxy): parsing an address costs more
        # than the rest of the guard, and a server sees the same peers again and again.
        self._peers: dict[str, tuple[str | None, Address | None]] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        authorizations = [v for k, v in scope["headers"] if k == b"authorization"]
        if len(authorizations) > 1:
            await _refuse(
                send,
                400,
                "Bad Request",
                "Send one Authorization header, not several.",
                {"WWW-Authenticate": 'Bearer realm="auth-api", error="invalid_request"'},
            )
            return
        if authorizations and len(authorizations[0]) > MAX_AUTHORIZATION_BYTES:
            await _refuse(
                send,
                431,
                "Request Header Fields Too Large",
                "The Authorization header is too large.",
            )
            return
        declared = _content_length(scope)
        if declared == -1:
            await _refuse(send, 400, "Bad Request", "Content-Length is not a number.")
            return
        if declared is not None and declared > self.max_body_bytes:
            await _refuse(
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
            await _refuse(
                send,
                415,
                "Unsupported Media Type",
                "A request body needs a Content-Type header: application/json.",
            )
            return
        scope[CLIENT_ADDRESS_KEY] = self._client_address(scope)
        receive = self._timed(receive)
        if chunked:
            # Connexion reads a body only when Content-Length is set, so a chunked body is
            # gathered here (never past MAX_BODY_BYTES) and handed on with its length.
            try:
                body = await _read_all(self._limited(receive))
            except (PayloadTooLarge, RequestTimeout) as error:
                await _refuse(send, error.status, error.title, error.detail, error.headers)
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

    def _client_address(self, scope: Scope) -> str | None:
        peer = scope.get("client")
        if not peer:
            return None
        known = self._peers.get(peer[0])
        if known is None:
            known = self._peers[peer[0]] = self._peer(peer[0])
            if len(self._peers) > MAX_REMEMBERED_PEERS:
                self._peers.clear()
        key, proxy = known
        if proxy is not None:
            return self._key(self._forwarded_client(scope, proxy))
        return key

    def _peer(self, text: str) -> tuple[str | None, Address | None]:
        address = _parse_ip(text)
        # A peer without an IP address (a Unix socket) is keyed as None, never by a name.
        if address is None:
            return None, None
        if self.trusted and self._is_trusted(address):
            return None, address
        return self._key(address), None

    def _forwarded_client(self, scope: Scope, peer: Address) -> Address:
        forwarded = [
            hop
            for k, v in scope["headers"]
            if k == b"x-forwarded-for"
            for hop in v.decode("latin-1").split(",")
        ]
        # Walk back from our peer through trusted proxies; the first other hop is the client.
        client = peer
        for hop in reversed(forwarded):
            address = _parse_ip(hop)
            if address is None:
                # What a trusted proxy passed on is not an address: only the peer is known.
                return peer
            client = address
            if not self._is_trusted(address):
                return address
        return client

    def _is_trusted(self, address: Address) -> bool:
        return any(address in network for network in self.trusted)

    def _key(self, address: Address) -> str:
        if isinstance(address, ipaddress.IPv4Address):
            return str(address)
        # One IPv6 subscriber usually holds a whole /64: keying single addresses would let
        # it rotate through 2**64 of them, each with a fresh per-address limit.
        return str(ipaddress.IPv6Network((address, self.ipv6_prefix), strict=False))


# Enough for every peer a busy server talks to; past it, the memory starts afresh.
MAX_REMEMBERED_PEERS = 10_000


def _parse_ip(text: str) -> Address | None:
    text = text.strip()
    if len(text) > MAX_ADDRESS_LENGTH:
        return None
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return address.ipv4_mapped
        # Without its zone (`%eth0`): the zone is local to the host that wrote it.
        return ipaddress.IPv6Address(int(address))
    return address


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


def _content_length(scope: Scope) -> int | None:
    for name, value in scope["headers"]:
        if name == b"content-length":
            return int(value) if value.isdigit() else -1
    return None


async def _refuse(
    send: Send, status: int, title: str, detail: str, headers: dict[str, str] | None = None
) -> None:
    body = json.dumps({"type": "about:blank", "title": title, "status": status, "detail": detail})
    raw_headers = [
        (b"content-type", b"application/problem+json"),
        (b"content-length", str(len(body)).encode()),
        *((k.lower().encode(), v.encode()) for k, v in (headers or {}).items()),
    ]
    await send({"type": "http.response.start", "status": status, "headers": raw_headers})
    await send({"type": "http.response.body", "body": body.encode()})


def client_address_in(scope: Mapping[str, Any]) -> str | None:
    """Return the client's address the guard decided for this request (None without a peer)."""
    address: str | None = scope.get(CLIENT_ADDRESS_KEY)
    return address
