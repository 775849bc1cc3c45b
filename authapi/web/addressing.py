"""Decide the client's address, as the key its limits are counted under.

The socket's peer, or the `X-Forwarded-For` entry that a trusted proxy reported; IPv4
dotted (an IPv4-mapped IPv6 address counts as its IPv4 address), IPv6 as its network of
CLIENT_IPV6_PREFIX bits (`2001:db8:1:2::/64`), and None for a peer without an IP address.
Never a raw header value.

The scheme the client used is the connection's, or the `X-Forwarded-Proto` that a trusted
proxy reported (one value, `http` or `https`): the browser Origin check compares it.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from typing import Any

from starlette.types import Scope

# The key of the client's address in each request's ASGI scope; read through `client_address_in`.
CLIENT_ADDRESS_KEY = "authapi.client_address"
# The key of the scheme a trusted proxy reported; read through `request_scheme_in`.
FORWARDED_SCHEME_KEY = "authapi.forwarded_scheme"
_SCHEMES = frozenset({"http", "https"})
# The longest IPv6 text is 45 characters, plus a zone (`%eth0`); anything longer is garbage.
MAX_ADDRESS_LENGTH = 64
# Enough for every peer a busy server talks to; past it, the memory starts afresh.
MAX_REMEMBERED_PEERS = 10_000
Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address


class ClientAddresses:
    """Key each client by its address, believing X-Forwarded-For only from a trusted proxy."""

    def __init__(self, trusted_proxies: tuple[str, ...], ipv6_prefix: int = 64) -> None:
        self.ipv6_prefix = ipv6_prefix
        self.trusted: tuple[Network, ...] = tuple(
            ipaddress.ip_network(proxy, strict=False) for proxy in trusted_proxies
        )
        # Peer text -> (its key, itself if a trusted proxy): parsing an address costs more
        # than the rest of the request limits, and a server sees the same peers again and again.
        self._peers: dict[str, tuple[str | None, Address | None]] = {}

    def stamp(self, scope: Scope) -> None:
        """Record the client's address in the request's scope, for `client_address_in`."""
        peer = scope.get("client")
        if not peer:
            scope[CLIENT_ADDRESS_KEY] = None
            return
        known = self._peers.get(peer[0])
        if known is None:
            known = self._peers[peer[0]] = self._peer(peer[0])
            if len(self._peers) > MAX_REMEMBERED_PEERS:
                self._peers.clear()
        key, proxy = known
        if proxy is not None:
            key = self._key(self._forwarded_client(scope, proxy))
            scope[FORWARDED_SCHEME_KEY] = _forwarded_scheme(scope)
        scope[CLIENT_ADDRESS_KEY] = key

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


def client_address_in(scope: Mapping[str, Any]) -> str | None:
    """Return the client's address decided for this request (None without a peer)."""
    address: str | None = scope.get(CLIENT_ADDRESS_KEY)
    return address


def request_scheme_in(scope: Mapping[str, Any]) -> str:
    """Return the scheme the client used: a trusted proxy's report, else the connection's."""
    scheme: str | None = scope.get(FORWARDED_SCHEME_KEY)
    return scheme or str(scope.get("scheme", "http"))


def _forwarded_scheme(scope: Scope) -> str | None:
    # One value, as nginx ($scheme), HAProxy, Traefik, Caddy and cloud balancers set it. A
    # list has no agreed order (appended or overwritten hop by hop), so it is not guessed at:
    # the connection's scheme stands, and a browser on https is refused rather than let in.
    values = [v for k, v in scope["headers"] if k == b"x-forwarded-proto"]
    if len(values) != 1:
        return None
    scheme = values[0].decode("latin-1").strip().lower()
    return scheme if scheme in _SCHEMES else None


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
