"""The login storm's load: logins in a closed loop, then with protected GETs at a constant rate.

Logins are a closed loop: each user sends its next login as soon as the last one is
answered; a login shed with 503 is retried once its `Retry-After` has passed, as a client
should (at once when the answer carried none, the worst case for the server). GETs are an
open loop at a constant rate: each is due at a fixed time, and its latency counts from
then, so a server that stalls cannot hide the requests it delayed (no coordinated
omission).
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

from authapi.web.cli import TIMEOUT_KEEP_ALIVE_SECONDS
from bench.harness.client import LOGIN_TIMEOUT, Connection, RequestFailed
from bench.harness.cpu import CpuMark, CpuUse
from bench.harness.paths import LOGIN_PATH

T = TypeVar("T")


@dataclass
class Tally:
    """What completed in one window: latencies in seconds by status, and the failures."""

    latencies: dict[int, list[float]] = field(default_factory=dict)
    timeouts: int = 0
    socket_errors: int = 0
    # 503 answers without a Retry-After: a failure, since the client cannot tell when to retry.
    shed_without_retry_after: int = 0

    def add(self, status: int, seconds: float) -> None:
        """Count one answered request."""
        self.latencies.setdefault(status, []).append(seconds)

    @property
    def statuses(self) -> Counter[int]:
        """Count the answers by status."""
        return Counter({status: len(values) for status, values in self.latencies.items()})


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
    cpu: dict[str, CpuUse]
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
                if connection.retry_after:
                    # The server closes a connection idle for its keep-alive timeout; a client
                    # that waits that long comes back on a new one, as a browser would.
                    if connection.retry_after >= TIMEOUT_KEEP_ALIVE_SECONDS:
                        connection.close()
                    await asyncio.sleep(connection.retry_after)
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
        asyncio.create_task(at(moment, lambda: CpuMark.take(server_pid)))
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
        cpu={"alone": marks[0].until(marks[1]), "mixed": marks[1].until(marks[2])},
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
        if status == 503 and connection.retry_after is None:
            tally.shed_without_retry_after += 1
