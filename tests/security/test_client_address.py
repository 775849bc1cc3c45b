"""The client address: only TRUSTED_PROXIES decides it, and only an IP address is ever kept.

The app keys a client by its address (IPv4 dotted, IPv6 by its CLIENT_IPV6_PREFIX
network) for the per-address limit and the session list; a peer without an IP address is
keyed as none. Whatever a header says, no raw value reaches the store.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.api_moves import PASSWORD, Api
from tests.apps import app_for
from tests.backends import storage_url
from tests.clock import Clock
from tests.config import settings_for
from tooling.devserver import running_server

LONG_GARBAGE = "x" * 300


@contextmanager
def serving(clock: Clock, peer: tuple[str, int] | None, **settings: Any) -> Iterator[Api]:
    """Serve an app to a client whose socket peer is `peer` (None: no address at all)."""
    app = app_for(settings_for(**settings), clock=clock)
    with app.test_client(client=peer) as client:
        yield Api(client)


def recorded_address(api: Api, forwarded_for: str | None = None) -> str | None:
    """Log in (with this X-Forwarded-For) and return the address the session list shows."""
    headers = {} if forwarded_for is None else {"X-Forwarded-For": forwarded_for}
    credentials = {"email": "ada@example.com", "password": PASSWORD}
    api.client.post("/api/v1/auth/register", json=credentials)
    login = api.client.post("/api/v1/auth/login", json=credentials, headers=headers)
    assert login.status_code == 200, login.text
    bearer = {"Authorization": f"Bearer {login.json()['access_token']}"}
    items = api.client.get("/api/v1/auth/sessions", headers=bearer).json()["items"]
    current = next(item for item in items if item["current"])
    address: str | None = current["client_ip"]
    return address


@pytest.mark.parametrize(
    ("peer", "expected"),
    [
        ("203.0.113.7", "203.0.113.7"),
        ("::ffff:203.0.113.7", "203.0.113.7"),
        ("2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"),
        ("2001:DB8:1:2::9", "2001:db8:1:2::/64"),
        ("fe80::1%eth0", "fe80::/64"),
        ("testclient", None),
    ],
    ids=["ipv4", "ipv4-mapped", "ipv6", "ipv6-upper-case", "ipv6-with-zone", "not-an-address"],
)
def test_peer_is_keyed_by_its_ipv4_address_or_its_ipv6_network(
    clock: Clock, peer: str, expected: str | None
) -> None:
    with serving(clock, (peer, 50000)) as api:
        assert recorded_address(api) == expected


def test_peer_without_an_address_is_keyed_as_none(clock: Clock) -> None:
    # A Unix socket: uvicorn reports no client at all.
    with serving(clock, None) as api:
        assert recorded_address(api) is None


def test_ipv6_network_size_follows_client_ipv6_prefix(clock: Clock) -> None:
    with serving(clock, ("2001:db8:1:2:3:4:5:6", 50000), client_ipv6_prefix=48) as api:
        assert recorded_address(api) == "2001:db8:1::/48"


@pytest.mark.parametrize(
    ("forwarded_for", "expected"),
    [
        ("192.0.2.1", "192.0.2.1"),
        ("::ffff:192.0.2.1", "192.0.2.1"),
        ("2001:db8:aa:bb:1:2:3:4", "2001:db8:aa:bb::/64"),
        ("198.51.100.1, 192.0.2.1", "192.0.2.1"),
        ("192.0.2.1, 10.0.0.2", "192.0.2.1"),
        ("10.0.0.3", "10.0.0.3"),
        (LONG_GARBAGE, "10.0.0.1"),
        ("192.0.2.1, " + LONG_GARBAGE, "10.0.0.1"),
        ("unknown", "10.0.0.1"),
        ("192.0.2.1:443", "10.0.0.1"),
        ("", "10.0.0.1"),
    ],
    ids=[
        "client",
        "ipv4-mapped-client",
        "ipv6-client",
        "hop-prepended-by-the-client",
        "through-two-trusted-proxies",
        "every-hop-trusted",
        "300-characters",
        "garbage-after-the-client",
        "unknown",
        "with-a-port",
        "empty",
    ],
)
def test_forwarded_address_is_kept_only_when_it_is_an_ip_address(
    clock: Clock, forwarded_for: str, expected: str
) -> None:
    trusted = ("10.0.0.0/8",)
    with serving(clock, ("10.0.0.1", 50000), trusted_proxies=trusted) as api:
        assert recorded_address(api, forwarded_for) == expected


def test_ipv4_mapped_peer_is_trusted_as_its_ipv4_address(clock: Clock) -> None:
    # A dual-stack socket reports an IPv4 proxy as ::ffff:10.0.0.1.
    trusted = ("10.0.0.0/8",)
    with serving(clock, ("::ffff:10.0.0.1", 50000), trusted_proxies=trusted) as api:
        assert recorded_address(api, "192.0.2.1") == "192.0.2.1"


def attempts(api: Api, peers: list[str]) -> list[int]:
    """Log in once from each peer in turn, on the same app."""
    statuses = []
    for peer in peers:
        # Starlette's test transport puts this pair in each request's scope.
        api.client._transport.client = (peer, 50000)  # type: ignore[attr-defined]
        statuses.append(api.login().status_code)
    return statuses


def test_addresses_of_one_ipv6_network_share_one_limit(clock: Clock) -> None:
    with serving(clock, ("2001:db8:1:2::1", 50000), auth_rate_limit_per_minute=3) as api:
        api.register()
        peers = [f"2001:db8:1:2:{n:x}::1" for n in range(1, 5)]
        assert attempts(api, peers) == [200, 200, 429, 429]
        # Another /64 is another subscriber, with a limit of its own.
        assert attempts(api, ["2001:db8:1:3::1"]) == [200]


def test_ipv4_mapped_and_plain_ipv4_share_one_limit(clock: Clock) -> None:
    with serving(clock, ("192.0.2.7", 50000), auth_rate_limit_per_minute=3) as api:
        api.register()
        assert attempts(api, ["::ffff:192.0.2.7", "192.0.2.7", "::ffff:192.0.2.7"]) == [
            200,
            200,
            429,
        ]


# -- a real uvicorn server: its own proxy-header handling must not get a say ---------------


def logins_through(url: str, forwarded_for: list[str]) -> list[requests.Response]:
    credentials = {"email": "ada@example.com", "password": PASSWORD}
    return [
        requests.post(
            f"{url}/api/v1/auth/login",
            json=credentials,
            headers={"X-Forwarded-For": hop},
            timeout=10,
        )
        for hop in forwarded_for
    ]


def session_addresses(url: str, access_token: str) -> set[str | None]:
    bearer = {"Authorization": f"Bearer {access_token}"}
    listed = requests.get(f"{url}/api/v1/auth/sessions", headers=bearer, timeout=10)
    return {item["client_ip"] for item in listed.json()["items"]}


@pytest.mark.slow
@pytest.mark.parametrize(
    "environment",
    [{}, {"FORWARDED_ALLOW_IPS": "*"}],
    ids=["uvicorn-defaults", "forwarded-allow-ips-star"],
)
def test_forged_x_forwarded_for_from_loopback_does_not_reset_the_limit(
    environment: dict[str, str],
) -> None:
    # uvicorn believes X-Forwarded-For from 127.0.0.1 by default, and from anyone with
    # FORWARDED_ALLOW_IPS=*; with TRUSTED_PROXIES empty, neither may change the address.
    server_env = {"AUTH_RATE_LIMIT_PER_MINUTE": "3", "TRUSTED_PROXIES": "", **environment}
    with running_server(server_env) as url:
        credentials = {"email": "ada@example.com", "password": PASSWORD}
        spoofed = {"X-Forwarded-For": "198.51.100.99"}
        registered = requests.post(
            f"{url}/api/v1/auth/register", json=credentials, headers=spoofed, timeout=10
        )
        assert registered.status_code == 201
        answers = logins_through(url, ["198.51.100.1", "198.51.100.2", "198.51.100.3"])
        assert [answer.status_code for answer in answers] == [200, 200, 429]
        assert session_addresses(url, answers[0].json()["access_token"]) == {"127.0.0.1"}


@pytest.mark.slow
def test_garbage_x_forwarded_for_behind_a_trusted_proxy_stores_the_peer_on_postgresql(
    tmp_path: Path,
) -> None:
    garbage = [LONG_GARBAGE, "not-an-address", "' OR 1=1 --", "::zz", "192.0.2.1:443", "é"]
    with (
        storage_url("postgresql", tmp_path) as store,
        running_server({"STORAGE_URL": store, "TRUSTED_PROXIES": "127.0.0.1"}) as url,
    ):
        credentials = {"email": "ada@example.com", "password": PASSWORD}
        assert requests.post(f"{url}/api/v1/auth/register", json=credentials).status_code == 201
        answers = logins_through(url, garbage)
        assert [answer.status_code for answer in answers] == [200] * len(garbage)
        assert session_addresses(url, answers[-1].json()["access_token"]) == {"127.0.0.1"}
        # The control: a well-formed hop from the trusted proxy is believed.
        (believed,) = logins_through(url, ["192.0.2.1"])
        assert "192.0.2.1" in session_addresses(url, believed.json()["access_token"])
