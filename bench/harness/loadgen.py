"""The closed-loop load generator, for machines without wrk.

Many keep-alive connections on raw asyncio protocols, each sending its next GET as soon as
the previous response is complete (closed loop, like wrk). Only responses that complete
inside the measured window count; the warm-up before it opens the connections and warms
the server. `python -m bench.harness.loadgen URL -H 'Authorization: Bearer …'` prints one
JSON `LoadResult`.
"""

from __future__ import annotations

import asyncio
import functools
import sys
import time
from typing import cast
from urllib.parse import urlsplit

from bench.harness.client import encode_request, parse_head, run
from bench.harness.cpu import CpuMark
from bench.harness.drive import Load, client_arguments, load_of, print_result
from bench.harness.result import LoadResult, from_latencies


class _Window:
    """The measured window shared by all connections, and what completed inside it."""

    def __init__(self) -> None:
        self.start = float("inf")
        self.end = float("inf")
        self.stopping = False
        self.latencies: list[float] = []
        self.non_200 = 0
        self.socket_errors = 0

    def measuring(self) -> bool:
        """Tell whether now is inside the measured window."""
        return self.start <= time.perf_counter() < self.end


class _Connection(asyncio.Protocol):
    """One keep-alive connection that sends a request whenever the last one is answered."""

    def __init__(self, window: _Window, request: bytes, lost: asyncio.Future[None]) -> None:
        self.window = window
        self.request = request
        self.lost = lost
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.sent_at: float | None = None
        self.status = 0
        self.needed: int | None = None
        self.chunked_from: int | None = None
        self.closing = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports only quack like asyncio.Transport.
        self.transport = cast(asyncio.Transport, transport)
        self._send()

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while self.buffer and self._response_complete():
            self._complete()

    def connection_lost(self, exc: Exception | None) -> None:
        if self.sent_at is not None and self.window.measuring():
            self.window.socket_errors += 1
        if not self.lost.done():
            self.lost.set_result(None)

    def _send(self) -> None:
        assert self.transport is not None
        self.sent_at = time.perf_counter()
        self.transport.write(self.request)

    def _response_complete(self) -> bool:
        buffer = self.buffer
        if self.needed is None and self.chunked_from is None:
            head_end = buffer.find(b"\r\n\r\n")
            if head_end < 0:
                return False
            head = parse_head(bytes(buffer[:head_end]))
            self.status, self.closing = head.status, head.closing
            if head.chunked:
                self.chunked_from = head_end + 4
            else:
                # Neither a length nor chunked: read as a response without a body.
                self.needed = head_end + 4 + (head.length or 0)
        if self.chunked_from is not None:
            end = _chunked_end(buffer, self.chunked_from)
            if end is None:
                return False
            self.needed, self.chunked_from = end, None
        return self.needed is not None and len(buffer) >= self.needed

    def _complete(self) -> None:
        now = time.perf_counter()
        assert self.needed is not None and self.sent_at is not None
        del self.buffer[: self.needed]
        self.needed = None
        window = self.window
        if window.start <= now < window.end:
            window.latencies.append(now - self.sent_at)
            if self.status != 200:
                window.non_200 += 1
        self.sent_at = None
        if window.stopping or self.closing:
            assert self.transport is not None
            self.transport.close()
        else:
            self._send()


def _chunked_end(buffer: bytearray, position: int) -> int | None:
    while True:
        line_end = buffer.find(b"\r\n", position)
        if line_end < 0:
            return None
        size = int(bytes(buffer[position:line_end]).split(b";")[0], 16)
        position = line_end + 2 + size + 2
        if position > len(buffer):
            return None
        if size == 0:
            return position


async def generate(
    url: str, headers: dict[str, str], load: Load, watch_pid: int | None = None
) -> LoadResult:
    """Drive `url` with `connections` keep-alive connections; measure after the warm-up."""
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    request = encode_request("GET", parts.netloc, path, headers)
    window = _Window()
    loop = asyncio.get_running_loop()
    live: list[_Connection] = []

    async def keep_connected() -> None:
        while not window.stopping:
            lost: asyncio.Future[None] = loop.create_future()
            try:
                _, protocol = await loop.create_connection(
                    functools.partial(_Connection, window, request, lost), host, port
                )
            except OSError:
                if window.measuring():
                    window.socket_errors += 1
                await asyncio.sleep(0.05)
                continue
            live.append(protocol)
            await lost
            live.remove(protocol)

    tasks = [asyncio.create_task(keep_connected()) for _ in range(load.connections)]
    await asyncio.sleep(load.warmup)
    before = CpuMark.take(watch_pid)
    window.start = before.at
    await asyncio.sleep(load.duration)
    after = CpuMark.take(watch_pid)
    window.end = after.at
    window.stopping = True
    timeouts = sum(
        1 for c in live if c.sent_at is not None and window.end - c.sent_at > load.timeout
    )
    for connection in list(live):
        if connection.transport is not None:
            connection.transport.close()
    await asyncio.wait(tasks, timeout=5)
    return from_latencies(
        window.latencies,
        window.end - window.start,
        non_200=window.non_200,
        socket_errors=window.socket_errors,
        timeouts=timeouts,
        cpu=before.until(after),
    )


def _header(value: str) -> tuple[str, str]:
    name, _, content = value.partition(":")
    return name.strip(), content.strip()


def main(argv: list[str] | None = None) -> int:
    """Run one load and print its result as JSON."""
    parser = client_arguments("bench.harness.loadgen", __doc__)
    parser.add_argument("-H", "--header", action="append", default=[], help="'Name: value'")
    args = parser.parse_args(argv)
    headers = dict(_header(value) for value in args.header)
    return print_result(run(generate(args.url, headers, load_of(args), args.watch_pid)))


if __name__ == "__main__":
    sys.exit(main())
