"""Client addressing on its own: what a request's scope says, and the memory of its peers.

How an address is keyed, and which X-Forwarded-For hops count, is pinned through the whole
app in tests/security/test_client_address.py and test_throttling.py.
"""

from __future__ import annotations

from typing import Any

import pytest

from authapi.web import addressing
from authapi.web.addressing import ClientAddresses, client_address_in

PROXY = "10.0.0.1"


def stamped(addresses: ClientAddresses, peer: str | None, forwarded_for: str | None = None) -> Any:
    """Stamp a request from `peer` (with this X-Forwarded-For) and return its address."""
    headers = [] if forwarded_for is None else [(b"x-forwarded-for", forwarded_for.encode())]
    scope: dict[str, Any] = {"type": "http", "headers": headers}
    if peer is not None:
        scope["client"] = (peer, 50000)
    addresses.stamp(scope)
    return client_address_in(scope)


def test_a_scope_nobody_stamped_has_no_address() -> None:
    assert client_address_in({"type": "http", "headers": []}) is None


def test_a_remembered_proxy_still_forwards_each_requests_own_client() -> None:
    addresses = ClientAddresses((PROXY,))
    assert stamped(addresses, PROXY, "203.0.113.7") == "203.0.113.7"
    assert stamped(addresses, PROXY, "198.51.100.9") == "198.51.100.9"
    assert stamped(addresses, PROXY) == PROXY


def test_remembered_peers_start_afresh_past_the_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(addressing, "MAX_REMEMBERED_PEERS", 2)
    addresses = ClientAddresses(())
    for peer in ("203.0.113.1", "203.0.113.2", "203.0.113.3"):
        assert stamped(addresses, peer) == peer
    assert len(addresses._peers) == 0
    assert stamped(addresses, "203.0.113.1") == "203.0.113.1"
