"""The bench's HTTP/1.1 client: the wire format both connections share, and keep-alive."""

from __future__ import annotations

import asyncio

import pytest

from bench.harness import client


async def test_the_client_reads_a_no_content_answer_and_keeps_its_connection() -> None:
    # uvicorn answers 204 without Content-Length, as logout does.
    answers = [b"HTTP/1.1 204 No Content\r\ndate: now\r\n\r\n", _ok(b'{"a":1}')]
    connections = 0

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal connections
        connections += 1
        for answer in answers:
            await reader.readuntil(b"\r\n\r\n")
            writer.write(answer)
            await writer.drain()
        writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    connection = client.Connection(f"http://127.0.0.1:{port}")
    try:
        logout = await connection.send(connection.request("POST", "/logout"), 5)
        profile = await connection.send(connection.request("GET", "/profile"), 5)
    finally:
        connection.close()
        server.close()
    assert logout == (204, b"")
    assert profile == (200, b'{"a":1}')
    assert connections == 1


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        (b"HTTP/1.1 200 OK\r\ncontent-length: 12\r\n\r\n", client.Head(200, 12, False, False)),
        # The closed loop hands over the head without its blank line.
        (b"HTTP/1.1 404 Not Found\r\nContent-Length: 7", client.Head(404, 7, False, False)),
        (b"HTTP/1.1 204 No Content\r\ndate: now\r\n\r\n", client.Head(204, 0, False, False)),
        (
            b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n",
            client.Head(200, None, True, False),
        ),
        (
            b"HTTP/1.1 503 Busy\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
            client.Head(503, 0, False, True),
        ),
    ],
)
def test_both_connections_read_a_response_head_the_same_way(
    head: bytes, expected: client.Head
) -> None:
    assert client.parse_head(head) == expected


def _ok(body: bytes) -> bytes:
    return b"HTTP/1.1 200 OK\r\ncontent-length: %d\r\n\r\n" % len(body) + body
