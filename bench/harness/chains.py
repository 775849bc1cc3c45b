"""Closed-loop load for requests that depend on earlier answers: refresh, logout, task create.

`bench.harness.loadgen` sends one fixed request over and over, which suits a GET. A refresh must
send the token the previous refresh returned, a logout ends the session it names (so
each needs a session of its own), and a task create must stay under its user's cap. Each
of the `connections` keep-alive connections here registers its own user, logs in, and
then sends its flow's request as soon as the previous one is answered, like wrk:

- `refresh`: POST /auth/refresh with the refresh token the last answer carried;
- `task-create`: POST /tasks for the connection's user;
- `logout`: POST /auth/logout with the next of `--sessions` access tokens, each from a
  login made before the clock starts. Sessions cost a bcrypt check each, so the run has a
  budget rather than a duration: the window opens once a fifth of the logouts are done and
  closes when the first connection runs out, while every connection is still busy.

Run it as `python -m bench.harness.chains URL --flow refresh`; it prints one JSON `LoadResult`.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from dataclasses import dataclass, field
from typing import Any

from bench.harness.client import Connection, RequestFailed, fresh_users, run
from bench.harness.cpu import CpuMark
from bench.harness.drive import Load, client_arguments, load_of, print_result
from bench.harness.paths import LOGIN_PATH, LOGOUT_PATH, REFRESH_PATH, REGISTER_PATH, TASKS_PATH
from bench.harness.result import LoadResult, from_latencies

FLOWS = ("refresh", "logout", "task-create")
EXPECTED = {"refresh": 200, "logout": 204, "task-create": 201}
SESSIONS = 50
# Logins and registrations before the clock starts, this many at a time.
SETUP_CONCURRENCY = 8
SETUP_TIMEOUT = 30.0


@dataclass
class _Tally:
    """What completed, when, and how long it took."""

    done: list[tuple[float, float, bool]] = field(default_factory=list)
    socket_errors: int = 0
    timeouts: int = 0


@dataclass(frozen=True)
class Chain:
    """What one run loads: the server, the flow, and the load's shape."""

    base_url: str
    flow: str
    load: Load
    sessions: int = SESSIONS
    watch_pid: int | None = None


async def run_chain(chain: Chain) -> LoadResult:
    """Set up a user per connection, then load `chain.flow` and measure it."""
    users = fresh_users("chain", chain.load.connections)
    logins = chain.sessions if chain.flow == "logout" else 1
    tokens = await _set_up(chain.base_url, users, logins)
    tally = _Tally()
    stop = asyncio.Event()
    connections = [Connection(chain.base_url) for _ in tokens]
    await asyncio.gather(*(connection.open() for connection in connections))
    clients = [
        _client(chain, tally, stop, connection, own if chain.flow == "logout" else own[:1])
        for connection, own in zip(connections, tokens, strict=True)
    ]
    before = CpuMark.take(chain.watch_pid)
    started = before.at
    runs = [asyncio.create_task(client) for client in clients]
    if chain.flow == "logout":
        ended = await _first_to_finish(runs)
    else:
        await asyncio.sleep(chain.load.warmup + chain.load.duration)
        ended = time.perf_counter()
    stop.set()
    after = CpuMark.take(chain.watch_pid)
    await asyncio.wait(runs, timeout=chain.load.timeout + 5)
    if chain.flow == "logout":
        finished = sorted(at for at, _, _ in tally.done)
        opened = finished[len(finished) // 5] if finished else ended
    else:
        opened = started + chain.load.warmup
    inside = [(latency, ok) for at, latency, ok in tally.done if opened <= at < ended]
    return from_latencies(
        [latency for latency, _ in inside],
        max(ended - opened, 1e-9),
        non_200=sum(1 for _, ok in inside if not ok),
        socket_errors=tally.socket_errors,
        timeouts=tally.timeouts,
        cpu=before.until(after),
    )


async def _first_to_finish(runs: list[asyncio.Task[None]]) -> float:
    await asyncio.wait(runs, return_when=asyncio.FIRST_COMPLETED)
    return time.perf_counter()


async def _client(
    chain: Chain, tally: _Tally, stop: asyncio.Event, connection: Connection, own: list[Any]
) -> None:
    expected = EXPECTED[chain.flow]
    # A refresh spends its token; the answer carries the next one.
    pair = own[0]
    remaining = list(own)
    try:
        while not stop.is_set():
            if chain.flow == "refresh":
                request = connection.request(
                    "POST", REFRESH_PATH, body={"refresh_token": pair["refresh_token"]}
                )
            elif chain.flow == "logout":
                if not remaining:
                    return
                request = connection.request(
                    "POST", LOGOUT_PATH, _bearer(remaining.pop()["access_token"])
                )
            else:
                request = connection.request(
                    "POST", TASKS_PATH, _bearer(pair["access_token"]), {"title": "a bench task"}
                )
            sent = time.perf_counter()
            try:
                status, body = await connection.send(request, chain.load.timeout)
            except TimeoutError:
                tally.timeouts += 1
                return
            except RequestFailed:
                tally.socket_errors += 1
                return
            done = time.perf_counter()
            tally.done.append((done, done - sent, status == expected))
            if chain.flow == "refresh":
                if status != expected:
                    return
                pair = json.loads(body)
    finally:
        connection.close()


async def _set_up(
    base_url: str, users: list[tuple[str, str]], logins: int
) -> list[list[dict[str, Any]]]:
    """Register every user, log each in `logins` times; return each user's token pairs."""
    gate = asyncio.Semaphore(SETUP_CONCURRENCY)

    async def call(path: str, body: dict[str, str], expected: int) -> dict[str, Any]:
        async with gate:
            connection = Connection(base_url)
            try:
                status, answer = await connection.send(
                    connection.request("POST", path, body=body), SETUP_TIMEOUT
                )
            finally:
                connection.close()
        if status != expected:
            raise RuntimeError(f"setup: POST {path} answered {status}: {answer[:200]!r}")
        result: dict[str, Any] = json.loads(answer)
        return result

    async def user_tokens(email: str, password: str) -> list[dict[str, Any]]:
        credentials = {"email": email, "password": password}
        await call(REGISTER_PATH, credentials, 201)
        return [await call(LOGIN_PATH, credentials, 200) for _ in range(logins)]

    return list(await asyncio.gather(*(user_tokens(*user) for user in users)))


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def main(argv: list[str] | None = None) -> int:
    """Run one chained load and print its result as JSON."""
    parser = client_arguments("bench.harness.chains", __doc__)
    parser.add_argument("--flow", choices=FLOWS, required=True)
    args = parser.parse_args(argv)
    chain = Chain(args.url, args.flow, load_of(args), watch_pid=args.watch_pid)
    return print_result(run(run_chain(chain)))


if __name__ == "__main__":
    sys.exit(main())
