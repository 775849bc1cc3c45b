"""The closed-loop load generator counts what completes in its window, by status."""

from __future__ import annotations

import asyncio

from bench.harness import loadgen
from bench.harness.drive import Load


async def test_the_closed_loop_counts_chunked_and_sized_answers_and_their_statuses() -> None:
    answered = 0

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal answered
        try:
            while True:
                await reader.readuntil(b"\r\n\r\n")
                answered += 1
                if answered % 2:
                    writer.write(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n")
                    writer.write(b"3\r\nabc\r\n2;ext=1\r\nde\r\n0\r\n\r\n")
                else:
                    writer.write(_ok(b"{}").replace(b"200 OK", b"404 Not Found"))
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        load = Load(duration=0.5, warmup=0.1, connections=1)
        result = await loadgen.generate(f"http://127.0.0.1:{port}/profile", {}, load)
    finally:
        server.close()
    # One connection alternates: half the answers measured are 404s, give or take one.
    assert result.requests > 10
    assert abs(result.non_200 - result.requests / 2) <= 1
    assert result.socket_errors == result.timeouts == 0


def _ok(body: bytes) -> bytes:
    return b"HTTP/1.1 200 OK\r\ncontent-length: %d\r\n\r\n" % len(body) + body
