"""A Content-Length that no integer reader should take: refused with a problem 400, never a 500.

Before, 4,300 zeros and a `2` passed `isdigit()` and reached `int()`, which refuses more
than 4,300 digits: a bare text/plain 500 on any path, unauthenticated. A header integer is
now ASCII digits only, at most 19 significant digits and 32 characters in all.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest
from starlette.testclient import TestClient

from tooling.devserver import running_server

LOGIN = "/api/v1/auth/login"
JSON = {"Content-Type": "application/json"}
SECURITY_HEADERS = {
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "content-security-policy": "default-src 'none'; frame-ancestors 'none'",
}


def assert_problem(status: int, content_type: str, problem: dict[str, Any], expected: int) -> None:
    assert status == expected, problem
    assert content_type == "application/problem+json"
    assert problem["status"] == expected


def assert_security_headers(headers: Any) -> None:
    for name, value in SECURITY_HEADERS.items():
        assert headers[name] == value, name
    assert headers["x-request-id"]


@pytest.mark.parametrize(
    "length",
    [
        b"0" * 4300 + b"2",  # one significant digit behind more zeros than int() reads
        b"1" * 4301,  # more digits than int() reads
        b"9" * 20,  # 20 significant digits: past the 19 a header integer may have
        b"0" * 32 + b"2",  # a small number, but longer than 32 characters in all
    ],
    ids=["4300-leading-zeros", "4301-digits", "20-significant-digits", "33-characters"],
)
def test_content_length_past_the_integer_bound_is_a_400_naming_the_rule(
    client: TestClient, length: bytes
) -> None:
    response = client.post(LOGIN, content=b"{}", headers={**JSON, "Content-Length": length})
    problem = response.json()
    assert_problem(response.status_code, response.headers["content-type"], problem, 400)
    assert "Content-Length" in problem["detail"]
    assert "19 significant digits" in problem["detail"]
    assert_security_headers(response.headers)


@pytest.mark.parametrize(
    ("length", "status"),
    [
        (b"0" * 31 + b"2", 400),  # read as 2: the login's body is checked, not its length
        (b"9" * 19, 413),  # read, then refused as over MAX_BODY_BYTES
    ],
    ids=["32-characters", "19-significant-digits"],
)
def test_content_length_within_the_integer_bound_is_read(
    client: TestClient, length: bytes, status: int
) -> None:
    response = client.post(LOGIN, content=b"{}", headers={**JSON, "Content-Length": length})
    problem = response.json()
    assert_problem(response.status_code, response.headers["content-type"], problem, status)
    assert "Content-Length" not in problem["detail"]


def raw_exchange(url: str, request: bytes) -> tuple[int, dict[str, str], bytes]:
    """Send raw bytes to a real server; return its status, headers and body."""
    address = urlsplit(url)
    assert address.hostname is not None and address.port is not None
    with socket.create_connection((address.hostname, address.port), timeout=10) as connection:
        connection.sendall(request)
        received = b""
        while chunk := connection.recv(65536):
            received += chunk
    head, _, body = received.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.lower().split(": ", 1) for line in header_lines)
    return int(status_line.split(" ")[1]), headers, body


def raw_login(length: bytes) -> bytes:
    return (
        b"POST /api/v1/auth/login HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n"
        b"Connection: close\r\nContent-Length: " + length + b"\r\n\r\n{}"
    )


@pytest.fixture(scope="module")
def server_url() -> Iterator[str]:
    with running_server() as url:
        yield url


@pytest.mark.slow
def test_leading_zeros_content_length_on_a_real_server_is_the_problem_400(server_url: str) -> None:
    # uvicorn's parser (httptools) reads 4,300 zeros and a 2 as 2 and hands the header on.
    status, headers, body = raw_exchange(server_url, raw_login(b"0" * 4300 + b"2"))
    problem = json.loads(body)
    assert_problem(status, headers["content-type"], problem, 400)
    assert "19 significant digits" in problem["detail"]
    assert_security_headers(headers)


@pytest.mark.slow
def test_content_length_past_64_bits_on_a_real_server_is_a_400_from_the_server(
    server_url: str,
) -> None:
    # uvicorn's parser refuses a number it cannot hold before the app sees the request:
    # its own text/plain 400, never a 500.
    status, _, _ = raw_exchange(server_url, raw_login(b"9" * 4400))
    assert status == 400
