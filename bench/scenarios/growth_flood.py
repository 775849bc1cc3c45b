"""growth-flood: the memory server stays under its documented ceiling through a flood of accounts.

Accounts are free, so per-account caps alone bound nothing: the memory store's ceilings
(`MEMORY_STORE_MAX_USERS`, `MEMORY_STORE_MAX_TASKS`) are what hold its size. Two parts:

1. In-process, tracemalloc: the bytes one maximum-size task costs the store (a 200-character
   title and a 2,000-character description of 4-byte characters, with both indexes), and
   one maximum-size user (a 254-character email of 4-byte characters, an upper bound the
   email validator never reaches, with `MAX_SESSIONS_PER_USER` live sessions carrying
   256-character user agents, and as many known login addresses). The README multiplies
   these by the default ceilings; `DOCUMENTED_*` below are the figures it states. And one
   maximum-size activity event (a 256-character user agent of 4-byte characters, a full
   IPv6 address, a session id, a reason and a merge key, with its indexes), which the README
   multiplies by `MEMORY_STORE_MAX_ACTIVITY_EVENTS`.
2. A real memory server with the ceilings scaled down, and every rate limit off so that
   the flood reaches them at once from one address: one client registers accounts past
   the user ceiling, logs each in `MAX_SESSIONS_PER_USER` times, then creates maximum-size
   tasks through all of them past the task ceiling. The server's RSS is sampled through the
   flood; its growth over the idle server must stay under the documented bytes per row
   times the scaled ceilings, and every request past a ceiling must get 507.
"""

from __future__ import annotations

import asyncio
import gc
import json
import tracemalloc
import uuid
from collections.abc import Coroutine
from datetime import UTC, datetime, timedelta

from authapi.activity import MAX_USER_AGENT
from authapi.records import Activity, Session, Task, User
from authapi.store import MemoryStore
from authapi.tasks import MAX_DESCRIPTION_LENGTH, MAX_TITLE_LENGTH
from bench.harness import client
from bench.harness.cpu import tree_rss_bytes
from bench.harness.outcome import Bar, Chart, Measure, Options, Outcome, Table, at_most
from bench.harness.paths import LOGIN_PATH, REGISTER_PATH, TASKS_PATH
from bench.harness.servers import project_server

# The README's worst case at the defaults is built from these (measured, then rounded up).
DOCUMENTED_BYTES_PER_TASK = 10 * 1024
DOCUMENTED_BYTES_PER_USER = 48 * 1024
DOCUMENTED_BYTES_PER_EVENT = 2560  # 2.5 KiB
DEFAULT_MAX_USERS = 100_000
DEFAULT_MAX_TASKS = 1_000_000
DEFAULT_MAX_EVENTS = 1_000_000
SESSIONS_PER_USER = 50  # MAX_SESSIONS_PER_USER's default
# The flood's scaled-down ceilings, and how far past each it pushes.
FLOOD_USERS = 200
FLOOD_TASKS = 8_000
PAST_CEILING = 50
CONCURRENCY = 4
SAMPLES = 20
REQUEST_TIMEOUT = 30.0
# Four bytes a character in CPython's str: the widest a title or description can be.
WIDE = "\U0001f600"
MAX_EMAIL = 254
USER_AGENT = "A" * 256
MIB = 1024 * 1024
EPOCH = datetime(2026, 1, 1, tzinfo=UTC)
FLOOD_ENV = {
    "MEMORY_STORE_MAX_USERS": str(FLOOD_USERS),
    "MEMORY_STORE_MAX_TASKS": str(FLOOD_TASKS),
    # Off, so that one client reaches the ceilings within seconds; the limits are tested.
    "AUTH_RATE_LIMIT_PER_MINUTE": "0",
    "REGISTRATIONS_PER_ADDRESS_PER_DAY": "0",
    "TASK_WRITES_PER_MINUTE": "0",
    "LOGIN_MAX_FAILURES": "0",
    "LOG_LEVEL": "WARNING",
}


def run(options: Options) -> list[Outcome]:
    """Measure bytes per maximum-size row, then flood a memory server past its ceilings."""
    per_task = _bytes_per_task(2_000)
    per_user = _bytes_per_user(200)
    per_event = _bytes_per_event(5_000)
    options.progress(
        f"{per_task:,.0f} B per maximum-size task, {per_user:,.0f} B per user, "
        f"{per_event:,.0f} B per maximum-size activity event"
    )
    logs = options.output_dir / "logs"
    with project_server("growth-flood", cores=None, log_dir=logs, env=FLOOD_ENV) as server:
        flood = client.run(_flood(server.base_url, server.pid, options))
    return [_outcome(per_task, per_user, per_event, flood)]


def _measured(build: Coroutine[None, None, None], count: int) -> float:
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    asyncio.run(build)
    gc.collect()
    after = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    return (after - before) / count


def _bytes_per_task(count: int) -> float:
    store = MemoryStore(max_tasks=count)
    owners = [str(uuid.uuid4()) for _ in range(20)]

    async def fill() -> None:
        for number in range(count):
            # A fresh datetime per task, as the use case makes one per request.
            moment = EPOCH + timedelta(microseconds=number)
            task = Task(
                id=str(uuid.uuid4()),
                user_id=owners[number % len(owners)],
                title=WIDE * MAX_TITLE_LENGTH,
                description=WIDE * MAX_DESCRIPTION_LENGTH,
                completed=False,
                created_at=moment,
                updated_at=moment + timedelta(0),
            )
            await store.add_task(task)

    # The owners' ids are users' cost, not the tasks'.
    return _measured(fill(), count)


def _bytes_per_user(count: int) -> float:
    store = MemoryStore(max_users=count)
    now = int(EPOCH.timestamp())

    async def fill() -> None:
        for number in range(count):
            user = User(
                id=str(uuid.uuid4()),
                email=f"{number:08d}" + WIDE * (MAX_EMAIL - 8),
                password_hash="$2b$12$" + "x" * 53,
                created_at=EPOCH,
            )
            await store.add_user(user)
            for login in range(SESSIONS_PER_USER):
                address = f"2001:db8:{number:x}:{login:x}::/64"
                session = Session(
                    id=str(uuid.uuid4()),
                    user_id=user.id,
                    created_at=now,
                    expires_at=now + 86400 + login,
                    refresh_hash=uuid.uuid4().hex * 2,
                    previous_refresh_hash=uuid.uuid4().hex * 2,
                    rotated_at=now,
                    user_agent=USER_AGENT,
                    client_ip=address,
                )
                await store.add_session(session, SESSIONS_PER_USER)
                await store.remember_address(user.id, uuid.uuid4().hex * 2, now)

    return _measured(fill(), count)


def _bytes_per_event(count: int) -> float:
    store = MemoryStore(max_activity_events=count)
    owners = [str(uuid.uuid4()) for _ in range(20)]
    now = int(EPOCH.timestamp())

    async def fill() -> None:
        for number in range(count):
            owner = owners[number % len(owners)]
            event = Activity(
                id=str(uuid.uuid4()),
                # A fresh string per event, as each request parses its own from the token.
                user_id=str(uuid.UUID(owner)),
                type="login_failed",
                occurred_at=now + number,
                ip=f"2001:0db8:{number:04x}:ffff:ffff:ffff:ffff:ffff",
                user_agent=WIDE * MAX_USER_AGENT,
                session_id=str(uuid.uuid4()),
                reason="credentials_changed",
                merge_key=uuid.uuid4().hex * 2,
            )
            await store.record_activity(event)

    return _measured(fill(), count)


async def _flood(base_url: str, pid: int, options: Options) -> dict[str, object]:
    connection = client.Connection(base_url)
    await connection.open()
    # Idle, but warmed: the code paths of a register, a login and a task have run once.
    warm = client.fresh_users("warm", 1)[0]
    await connection.send(connection.request("POST", REGISTER_PATH, body=_body(warm)), 30)
    idle = tree_rss_bytes(pid)
    samples: list[tuple[str, int]] = [("idle", idle)]
    statuses: dict[str, dict[int, int]] = {"register": {}, "login": {}, "task": {}}

    def count(step: str, status: int) -> None:
        statuses[step][status] = statuses[step].get(status, 0) + 1

    users = client.fresh_users("flood", FLOOD_USERS + PAST_CEILING)
    # The warm-up user is one of the ceiling's.
    for email, password in users:
        status, _ = await connection.send(
            connection.request("POST", REGISTER_PATH, body=_body((email, password))),
            REQUEST_TIMEOUT,
        )
        count("register", status)
    samples.append(("registered", tree_rss_bytes(pid)))
    options.progress(f"registered: {statuses['register']}")
    bearers: list[str] = []
    admitted = users[: FLOOD_USERS - 1]
    for index, user in enumerate(admitted):
        for _ in range(SESSIONS_PER_USER):
            status, body = await connection.send(
                connection.request("POST", LOGIN_PATH, body=_body(user)), REQUEST_TIMEOUT
            )
            count("login", status)
        bearers.append(f"Bearer {json.loads(body)['access_token']}")
        if index % (len(admitted) // 4 or 1) == 0:
            samples.append((f"logins {index + 1}", tree_rss_bytes(pid)))
    samples.append(("logged in", tree_rss_bytes(pid)))
    options.progress(f"logged in: {statuses['login']}")
    task = {"title": WIDE * MAX_TITLE_LENGTH, "description": WIDE * MAX_DESCRIPTION_LENGTH}
    total = FLOOD_TASKS + PAST_CEILING
    every = max(1, total // SAMPLES)
    pending = list(range(total))

    async def creator() -> None:
        mine = client.Connection(base_url)
        while pending:
            number = pending.pop()
            headers = {"Authorization": bearers[number % len(bearers)]}
            status, _ = await mine.send(
                mine.request("POST", TASKS_PATH, headers=headers, body=task), REQUEST_TIMEOUT
            )
            count("task", status)
            if number % every == 0:
                samples.append((f"tasks {total - len(pending):,}", tree_rss_bytes(pid)))
        mine.close()

    await asyncio.gather(*(creator() for _ in range(CONCURRENCY)))
    samples.append(("flooded", tree_rss_bytes(pid)))
    options.progress(f"tasks: {statuses['task']}")
    connection.close()
    return {"idle": idle, "samples": samples, "statuses": statuses}


def _body(user: tuple[str, str]) -> dict[str, str]:
    return {"email": user[0], "password": user[1]}


def _outcome(
    per_task: float, per_user: float, per_event: float, flood: dict[str, object]
) -> Outcome:
    idle = int(flood["idle"])  # type: ignore[call-overload]
    samples: list[tuple[str, int]] = flood["samples"]  # type: ignore[assignment]
    statuses: dict[str, dict[int, int]] = flood["statuses"]  # type: ignore[assignment]
    peak = max(rss for _, rss in samples)
    growth = peak - idle
    ceiling = FLOOD_USERS * DOCUMENTED_BYTES_PER_USER + FLOOD_TASKS * DOCUMENTED_BYTES_PER_TASK
    at_defaults = (
        DEFAULT_MAX_USERS * DOCUMENTED_BYTES_PER_USER
        + DEFAULT_MAX_TASKS * DOCUMENTED_BYTES_PER_TASK
        + DEFAULT_MAX_EVENTS * DOCUMENTED_BYTES_PER_EVENT
    )
    refused = {
        "register": statuses["register"].get(507, 0),
        "task": statuses["task"].get(507, 0),
    }
    outcome = Outcome(
        "growth-flood",
        f"a memory server flooded past MEMORY_STORE_MAX_USERS={FLOOD_USERS} and "
        f"MEMORY_STORE_MAX_TASKS={FLOOD_TASKS:,} by one client: {SESSIONS_PER_USER} logins per "
        "account, maximum-size tasks; RSS sampled through it",
    )
    outcome.measures = [
        Measure("bytes per maximum-size task (tracemalloc)", per_task, "B"),
        Measure(f"bytes per user with {SESSIONS_PER_USER} sessions (tracemalloc)", per_user, "B"),
        Measure("bytes per maximum-size activity event (tracemalloc)", per_event, "B"),
        Measure("idle server RSS", idle / MIB, "MiB"),
        Measure("peak server RSS during the flood", peak / MIB, "MiB"),
        Measure(
            "RSS growth per stored task, users' share taken out (extrapolated)",
            (growth - FLOOD_USERS * per_user) / FLOOD_TASKS,
            "B",
        ),
        Measure(
            "documented worst case at the defaults (tasks, accounts, activity)",
            at_defaults / 2**30,
            "GiB",
        ),
        Measure("registrations past the ceiling refused with 507", refused["register"], ""),
        Measure("task creates past the ceiling refused with 507", refused["task"], ""),
    ]
    outcome.targets = [
        at_most(
            "tracemalloc bytes per maximum-size task", per_task, DOCUMENTED_BYTES_PER_TASK, "B"
        ),
        at_most(
            "tracemalloc bytes per maximum-size user", per_user, DOCUMENTED_BYTES_PER_USER, "B"
        ),
        at_most(
            "tracemalloc bytes per maximum-size activity event",
            per_event,
            DOCUMENTED_BYTES_PER_EVENT,
            "B",
        ),
        at_most("peak RSS growth during the flood", growth / MIB, ceiling / MIB, "MiB"),
        # The warm-up account took one place under the user ceiling.
        at_most(
            "requests past a ceiling not refused with 507",
            (PAST_CEILING + 1 - refused["register"]) + (PAST_CEILING - refused["task"]),
            0,
            "requests",
        ),
    ]
    outcome.tables = [
        Table(
            "server RSS through the flood",
            ["after", "RSS (MiB)", "growth (MiB)"],
            [[label, f"{rss / MIB:.1f}", f"{(rss - idle) / MIB:.1f}"] for label, rss in samples],
        ),
        Table(
            "answers",
            ["step", "statuses"],
            [[step, json.dumps(counts)] for step, counts in statuses.items()],
        ),
    ]
    outcome.charts = [
        Chart(
            "memory server RSS growth through the flood",
            "MiB over idle",
            [Bar(label, (rss - idle) / MIB) for label, rss in samples],
            line=ceiling / MIB,
            line_label="documented ceiling at the flood's caps",
        )
    ]
    return outcome
