"""A client that stalls its body holds a connection for REQUEST_READ_TIMEOUT_SECONDS at most.

Against a real uvicorn server with raw sockets, since only a real server has connections
to hold; everyone else's requests go on meanwhile.
"""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit

import pytest
import requests

from tests.api_moves import PASSWORD
from tooling.devserver import running_server

# "heavy": these count on a one-second read deadline, so they never share the machine with
# the other heavy tests (a browser, two server workers); one server for the module.
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("heavy")]

READ_TIMEOUT = 1  # REQUEST_READ_TIMEOUT_SECONDS for these servers
LOGIN_HEAD = b"POST /api/v1/auth/login HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n"


@pytest.fixture(scope="module")
def url() -> Iterator[str]:
    env = {
        "REQUEST_READ_TIMEOUT_SECONDS": str(READ_TIMEOUT),
        "AUTH_RATE_LIMIT_PER_MINUTE": "0",
        "REGISTRATIONS_PER_ADDRESS_PER_DAY": "0",
        "TASK_WRITES_PER_MINUTE": "0",
    }
    with running_server(env) as base_url:
        yield base_url


def connect(url: str) -> socket.socket:
    address = urlsplit(url)
    assert address.hostname is not None and address.port is not None
    return socket.create_connection((address.hostname, address.port), timeout=10)


def read_until_closed(connection: socket.socket) -> bytes:
    """Read the answer, and return it once the server has closed the connection."""
    received = b""
    while chunk := connection.recv(65536):
        received += chunk
    return received


def assert_408_and_closed(answer: bytes) -> None:
    head, _, body = answer.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.lower().split(": ", 1) for line in header_lines)
    assert status_line == "HTTP/1.1 408 Request Timeout", answer
    assert headers["content-type"] == "application/problem+json"
    assert headers["connection"] == "close"
    problem = json.loads(body)
    assert problem["status"] == 408
    assert f"within {READ_TIMEOUT} seconds" in problem["detail"]


def others_meanwhile(url: str) -> list[int]:
    """Register, log in and check health, one after another; return the statuses."""
    with requests.Session() as http:
        credentials = {
            "email": f"meanwhile-{time.monotonic_ns()}@example.com",
            "password": PASSWORD,
        }
        return [
            http.post(f"{url}/api/v1/auth/register", json=credentials, timeout=10).status_code,
            http.post(f"{url}/api/v1/auth/login", json=credentials, timeout=10).status_code,
            http.get(f"{url}/health", timeout=10).status_code,
        ]


@pytest.mark.parametrize(
    "stalled",
    [
        LOGIN_HEAD + b'Content-Length: 100\r\n\r\n{"email": "ada@exa',
        LOGIN_HEAD + b'Transfer-Encoding: chunked\r\n\r\n12\r\n{"email": "ada@exa\r\n',
        LOGIN_HEAD + b"Content-Length: 100\r\n\r\n",
    ],
    ids=["partial-body", "partial-chunked-body", "no-body-at-all"],
)
def test_stalled_body_gets_408_and_its_connection_closed_while_others_are_served(
    url: str, stalled: bytes
) -> None:
    with connect(url) as connection, ThreadPoolExecutor(max_workers=1) as pool:
        connection.sendall(stalled)
        meanwhile = pool.submit(others_meanwhile, url)
        answer = read_until_closed(connection)
        # The order, not a time: the others had their answers before the stalled body's.
        served_first = meanwhile.done()
        served = meanwhile.result()
    assert_408_and_closed(answer)
    assert served == [201, 200, 200]
    assert served_first, "the other requests waited for the stalled body"


def test_body_that_trickles_in_is_cut_off_at_the_deadline_not_per_read(url: str) -> None:
    # A byte every 0.3 s never waits long on one read; the deadline covers the whole body.
    with connect(url) as connection:
        started = time.monotonic()
        connection.sendall(LOGIN_HEAD + b"Content-Length: 100\r\n\r\n")
        for byte in b'{"email": "ada@example.com"':
            try:
                connection.sendall(bytes([byte]))
            except OSError:
                break  # the server has closed the connection
            time.sleep(0.3)
            if time.monotonic() - started > READ_TIMEOUT + 1:
                break
        answer = read_until_closed(connection)
    assert_408_and_closed(answer)


def test_body_that_arrives_in_time_in_pieces_is_served(url: str) -> None:
    credentials = json.dumps({"email": "late@example.com", "password": PASSWORD}).encode()
    with connect(url) as connection:
        connection.sendall(
            b"POST /api/v1/auth/register HTTP/1.1\r\nHost: test\r\nConnection: close\r\n"
            b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(credentials)
        )
        connection.sendall(credentials[:10])
        time.sleep(READ_TIMEOUT / 2)
        connection.sendall(credentials[10:])
        answer = read_until_closed(connection)
    assert answer.startswith(b"HTTP/1.1 201 "), answer
