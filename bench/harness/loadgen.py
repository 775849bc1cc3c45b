"""The benchmark's HTTP/1.1 client, and the loads it drives: a closed loop, a storm, a churn.

One wire format (`encode_request`, `parse_head`) serves two kinds of connection:
- `generate` keeps many keep-alive connections on raw asyncio protocols, each sending its
  next GET as soon as the previous response is complete (closed loop, like wrk). Only
  responses that complete inside the measured window count; the warm-up before it opens
  the connections and warms the server. It is the throughput load generator on machines
  without wrk: `python -m bench.harness.loadgen URL -H 'Authorization: Bearer …'` prints one JSON
  object.
- `Connection`, on asyncio streams, sends one request at a time and returns its answer:
  the login storm (`storm`), registration (`register_all`) and the soak's churn use it.
  In the storm, logins are a closed loop: each user sends its next login as soon as the
  last one is answered, and a login shed with 503 is retried at once (no back-off, the
  worst case for the server). GETs are an open loop at a constant rate: each is due at a
  fixed time, and its latency counts from then, so a server that stalls cannot hide the
  requests it delayed (no coordinated omission).
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import json
import resource
import sys
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple, TypeVar, cast
from urllib.parse import urlsplit

from bench.harness.cpu import machine_busy_seconds, tree_cpu_seconds
from bench.harness.result import LoadResult, from_latencies

T = TypeVar("T")
DURATION = 8.0
WARMUP = 2.0
CONNECTIONS = 100
TIMEOUT = 2.0
LOGIN_PATH = "/api/v1/auth/login"
REGISTER_PATH = "/api/v1/auth/register"
# A login waits at most HASH_QUEUE_TIMEOUT_SECONDS for a bcrypt thread, then hashes.
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
    url: str,
    headers: dict[str, str],
    *,
    duration: float = DURATION,
    warmup: float = WARMUP,
    connections: int = CONNECTIONS,
    timeout: float = TIMEOUT,
    watch_pid: int | None = None,
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

    tasks = [asyncio.create_task(keep_connected()) for _ in range(connections)]
    await asyncio.sleep(warmup)
    cpu_before, server_before = _own_cpu_seconds(), _server_cpu(watch_pid)
    busy_before = machine_busy_seconds()
    window.start = time.perf_counter()
    await asyncio.sleep(duration)
    window.end = time.perf_counter()
    cpu_after, server_after = _own_cpu_seconds(), _server_cpu(watch_pid)
    busy_after = machine_busy_seconds()
    window.stopping = True
    timeouts = sum(1 for c in live if c.sent_at is not None and window.end - c.sent_at > timeout)
    for connection in list(live):
        if connection.transport is not None:
            connection.transport.close()
    await asyncio.wait(tasks, timeout=5)
    seconds = window.end - window.start
    loadgen_pct = 100 * (cpu_after - cpu_before) / seconds
    server_pct = other_pct = None
    if server_before is not None and server_after is not None:
        server_pct = 100 * (server_after - server_before) / seconds
        busy_pct = 100 * (busy_after - busy_before) / seconds
        other_pct = max(0.0, busy_pct - server_pct - loadgen_pct)
    return from_latencies(
        "python",
        window.latencies,
        seconds,
        non_200=window.non_200,
        socket_errors=window.socket_errors,
        timeouts=timeouts,
        loadgen_cpu_pct=loadgen_pct,
        server_cpu_pct=server_pct,
        other_cpu_pct=other_pct,
    )


class RequestFailed(Exception):
    """The connection broke, or the answer was not HTTP the client can read."""


class Connection:
    """One keep-alive HTTP/1.1 connection that sends one request at a time."""

    def __init__(self, base_url: str) -> None:
        parts = urlsplit(base_url)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        self.netloc = parts.netloc
        self._streams: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None

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
                head = parse_head(await reader.readuntil(b"\r\n\r\n"))
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


@dataclass
class Tally:
    """What completed in one window: latencies in seconds by status, and the failures."""

    latencies: dict[int, list[float]] = field(default_factory=dict)
    timeouts: int = 0
    socket_errors: int = 0

    def add(self, status: int, seconds: float) -> None:
        """Count one answered request."""
        self.latencies.setdefault(status, []).append(seconds)

    @property
    def statuses(self) -> Counter[int]:
        """Count the answers by status."""
        return Counter({status: len(values) for status, values in self.latencies.items()})


@dataclass(frozen=True)
class Snapshot:
    """CPU seconds used so far by the server, by this process, and by the whole machine."""

    at: float
    server: float
    own: float
    machine: float

    @classmethod
    def take(cls, server_pid: int) -> Snapshot:
        """Read the counters now."""
        return cls(
            time.perf_counter(),
            tree_cpu_seconds(server_pid),
            _own_cpu_seconds(),
            machine_busy_seconds(),
        )


def cpu_between(before: Snapshot, after: Snapshot) -> dict[str, float]:
    """Return the server's, the clients' and everything else's CPU as % of one core."""
    seconds = after.at - before.at
    server = 100 * (after.server - before.server) / seconds
    clients = 100 * (after.own - before.own) / seconds
    busy = 100 * (after.machine - before.machine) / seconds
    return {"server": server, "clients": clients, "other": max(0.0, busy - server - clients)}


@dataclass(frozen=True)
class StormPlan:
    """The storm's timeline: warm-up, logins alone, then logins with paced GETs."""

    users: Sequence[tuple[str, str]]
    get_headers: Mapping[str, str]
    get_path: str
    warmup: float
    seconds: float
    get_connections: int
    get_interval: float
    get_timeout: float


@dataclass
class StormResult:
    """Logins in each measured phase, the GETs of the second, and CPU use in each."""

    logins: dict[str, Tally]
    gets: Tally
    cpu: dict[str, dict[str, float]]
    seconds: float


async def storm(base_url: str, plan: StormPlan, server_pid: int) -> StormResult:
    """Run the login storm; measure logins alone, then logins and GETs together."""
    start = time.perf_counter()
    alone_at = start + plan.warmup
    mixed_at = alone_at + plan.seconds
    end_at = mixed_at + plan.seconds
    logins = {"alone": Tally(), "mixed": Tally()}
    gets = Tally()
    stopping = asyncio.Event()

    def phase(now: float) -> Tally | None:
        if alone_at <= now < mixed_at:
            return logins["alone"]
        return logins["mixed"] if mixed_at <= now < end_at else None

    async def user(email: str, password: str) -> None:
        connection = Connection(base_url)
        request = connection.request(
            "POST", LOGIN_PATH, body={"email": email, "password": password}
        )
        try:
            while not stopping.is_set():
                await _measure(connection, request, LOGIN_TIMEOUT, phase)
        finally:
            connection.close()

    async def reader(offset: float) -> None:
        connection = Connection(base_url)
        request = connection.request("GET", plan.get_path, plan.get_headers)
        # One unmeasured request opens the connection before the GETs are due.
        await _measure(connection, request, plan.get_timeout, lambda now: None)
        due = mixed_at + offset
        while due < end_at:
            await asyncio.sleep(max(0.0, due - time.perf_counter()))
            await _measure(connection, request, plan.get_timeout, lambda now: gets, since=due)
            due += plan.get_interval
        connection.close()

    async def at(moment: float, action: Callable[[], T]) -> T:
        await asyncio.sleep(max(0.0, moment - time.perf_counter()))
        return action()

    users = [asyncio.create_task(user(email, password)) for email, password in plan.users]
    snapshots = [
        asyncio.create_task(at(moment, lambda: Snapshot.take(server_pid)))
        for moment in (alone_at, mixed_at, end_at)
    ]
    step = plan.get_interval / plan.get_connections
    readers = await at(
        mixed_at - 1.0,
        lambda: [
            asyncio.create_task(reader(number * step)) for number in range(plan.get_connections)
        ],
    )
    await asyncio.gather(*readers)
    # The storm goes on until the last GET is answered, so every GET saw it.
    stopping.set()
    marks = await asyncio.gather(*snapshots)
    # Logins still queued at the end are outside every window: drop them.
    for task in users:
        task.cancel()
    await asyncio.gather(*users, return_exceptions=True)
    return StormResult(
        logins=logins,
        gets=gets,
        cpu={"alone": cpu_between(marks[0], marks[1]), "mixed": cpu_between(marks[1], marks[2])},
        seconds=plan.seconds,
    )


async def _measure(
    connection: Connection,
    request: bytes,
    timeout: float,
    window: Callable[[float], Tally | None],
    since: float | None = None,
) -> None:
    sent = time.perf_counter() if since is None else since
    try:
        status, _ = await connection.send(request, timeout)
    except TimeoutError:
        tally = window(time.perf_counter())
        if tally is not None:
            tally.timeouts += 1
        return
    except RequestFailed:
        tally = window(time.perf_counter())
        if tally is not None:
            tally.socket_errors += 1
        await asyncio.sleep(0.05)
        return
    now = time.perf_counter()
    tally = window(now)
    if tally is not None:
        tally.add(status, now - sent)


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


def _own_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _server_cpu(pid: int | None) -> float | None:
    return None if pid is None else tree_cpu_seconds(pid)


def _run(args: argparse.Namespace) -> LoadResult:
    headers = dict(_header(value) for value in args.header)
    coroutine = generate(
        args.url,
        headers,
        duration=args.duration,
        warmup=args.warmup,
        connections=args.connections,
        timeout=args.timeout,
        watch_pid=args.watch_pid,
    )
    return run(coroutine)


def _header(value: str) -> tuple[str, str]:
    name, _, content = value.partition(":")
    return name.strip(), content.strip()


def main(argv: list[str] | None = None) -> int:
    """Run one load and print its result as JSON."""
    parser = argparse.ArgumentParser(prog="python -m bench.harness.loadgen", description=__doc__)
    parser.add_argument("url")
    parser.add_argument("-H", "--header", action="append", default=[], help="'Name: value'")
    parser.add_argument("--duration", type=float, default=DURATION, help="measured seconds")
    parser.add_argument("--warmup", type=float, default=WARMUP, help="seconds before measuring")
    parser.add_argument("--connections", type=int, default=CONNECTIONS)
    parser.add_argument("--timeout", type=float, default=TIMEOUT, help="seconds; later is error")
    parser.add_argument("--watch-pid", type=int, help="report this process tree's CPU use")
    result = _run(parser.parse_args(argv))
    json.dump(result.to_json(), sys.stdout)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
