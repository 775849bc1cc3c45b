"""In-process: what a user costs the memory store, and whether the use cases slow with users.

No server: the store and the use cases are driven directly. Bytes per user come from
tracemalloc around inserting real-looking `User` records. The scaling check times
register, login and refresh through the app's use cases (bcrypt at cost 4, so the hash does not
drown the rest) on a store pre-filled with 1,000 users and on one with 100,000, in
alternating blocks so that drift on the machine hits both sizes alike.
"""

from __future__ import annotations

import asyncio
import base64
import gc
import os
import statistics
import sys
import time
import tracemalloc
import uuid
from datetime import UTC, datetime, timedelta

from authapi.records import Session, User
from authapi.settings import Settings
from authapi.store import MemoryStore
from authapi.tokens import TokenPair
from authapi.web.services import Services
from bench.harness.outcome import Bar, Chart, Measure, Options, Outcome, at_most
from bench.harness.report import short_count

MAX_BYTES_PER_USER = 1024
SMALL_STORE = 1_000
# Timed operations per use case and size, run in blocks that alternate between the sizes.
OPERATIONS = 600
BLOCK = 50
# A median from 600 calls moves by a few percent between runs on a shared machine, and a
# dict of 100,000 entries misses the CPU caches more often than one of 1,000; both are
# constant factors. A lookup that scanned the users would cost ~100x at 100k, so 1.25x
# leaves room for the noise and still catches any cost that grows with the users.
MAX_SLOWDOWN = 1.25
BCRYPT_ROUNDS = 4
EPOCH = datetime(2024, 1, 1, tzinfo=UTC)
USE_CASES = ("register", "login", "refresh")
# A ceiling no run reaches: this scenario measures the store, not its ceilings.
UNBOUNDED = 10**9


def run(options: Options) -> list[Outcome]:
    """Measure bytes per user in the memory store and the use cases' cost at two sizes."""
    users = options.memory_users
    per_user, record = _bytes_per_user(users)
    options.progress(f"{per_user:.0f} bytes per user over {users:,} users")
    timings = asyncio.run(_scaling((SMALL_STORE, users)))
    outcome = Outcome(
        "memory",
        f"MemoryStore with {users:,} users (tracemalloc), and register / login / refresh "
        f"through the use cases at {SMALL_STORE:,} vs {users:,} users",
    )
    outcome.measures = [
        Measure("bytes per user (record, its strings and both indexes)", per_user, "B"),
        Measure("  of which the User record and its strings", record, "B"),
        Measure("  the rest: the two dict indexes", per_user - record, "B"),
    ]
    for use_case in USE_CASES:
        small, large = (statistics.median(timings[use_case][n]) for n in (SMALL_STORE, users))
        outcome.measures += [
            Measure(f"{use_case} median at {SMALL_STORE:,} users", 1000 * small, "ms"),
            Measure(f"{use_case} median at {users:,} users", 1000 * large, "ms"),
        ]
        outcome.targets.append(
            at_most(
                f"{use_case} at {users:,} users vs at {SMALL_STORE:,}",
                large / small,
                MAX_SLOWDOWN,
                "x",
            )
        )
    outcome.targets.insert(
        0, at_most("memory per user in MemoryStore", per_user, MAX_BYTES_PER_USER, "B")
    )
    outcome.charts = [
        Chart(
            "memory: bytes per user",
            "bytes",
            [Bar("record", record), Bar("indexes", per_user - record), Bar("total", per_user)],
            line=MAX_BYTES_PER_USER,
            line_label="target 1 KiB",
        ),
        Chart(
            "memory: use case median",
            "ms per call",
            [
                Bar(f"{use_case}\n{short_count(n)}", 1000 * statistics.median(timings[use_case][n]))
                for use_case in USE_CASES
                for n in (SMALL_STORE, users)
            ],
        ),
    ]
    outcome.notes = [
        f"timed with bcrypt at cost {BCRYPT_ROUNDS} and {OPERATIONS} calls per use case and "
        f"size; each pre-filled user also has one live session",
        "bytes per user are for users alone; sessions, tasks and throttle counters come on top",
    ]
    return [outcome]


def fake_user(number: int) -> User:
    """Build a distinct, real-looking user: a uuid, an email, a 60-character bcrypt hash."""
    # bcrypt's alphabet is base64's with '.' for '+'; 22 salt and 31 hash characters.
    digest = base64.b64encode(os.urandom(40)).decode("ascii").replace("+", ".")[:53]
    return User(
        id=str(uuid.uuid4()),
        email=f"user{number:07d}@example.com",
        password_hash=f"$2b$12${digest}",
        created_at=EPOCH + timedelta(seconds=number),
    )


def _bytes_per_user(count: int) -> tuple[float, float]:
    # Past the default user ceiling on purpose: what a user costs, whatever the ceiling.
    store = MemoryStore(max_users=UNBOUNDED)
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        sample = asyncio.run(_fill(store, count, sessions=False))
        gc.collect()
        used = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    parts = (sample, sample.id, sample.email, sample.password_hash, sample.created_at)
    return used / count, sum(sys.getsizeof(part) for part in parts)


async def _fill(store: MemoryStore, count: int, *, sessions: bool) -> User:
    """Add `count` users (each with a live session if asked); return the last one."""
    for number in range(count):
        user = fake_user(number)
        await store.add_user(user)
        if sessions:
            await store.add_session(
                Session(
                    id=str(uuid.uuid4()),
                    user_id=user.id,
                    created_at=0,
                    expires_at=2**40,
                    refresh_hash=os.urandom(32).hex(),
                )
            )
    return user


async def _scaling(sizes: tuple[int, ...]) -> dict[str, dict[int, list[float]]]:
    # Every login here comes from one caller (no client address), which the per-address
    # limit would stop after a few; the per-account counters stay on and are measured.
    # No metrics, as before: the use cases are timed without an event counter.
    settings = Settings(
        jwt_secret_key="bench-only-secret-key-of-at-least-32-bytes",
        bcrypt_rounds=BCRYPT_ROUNDS,
        auth_rate_limit_per_minute=0,
        registrations_per_address_per_day=0,
        metrics_enabled=False,
    )
    apps = {}
    for size in sizes:
        store = MemoryStore(max_users=UNBOUNDED)
        await _fill(store, size, sessions=True)
        apps[size] = Services.build(settings, store=store)
    timings: dict[str, dict[int, list[float]]] = {
        use_case: {size: [] for size in sizes} for use_case in USE_CASES
    }
    try:
        for block in range(OPERATIONS // BLOCK):
            # A B, then B A: neither size always runs first.
            for size in sizes if block % 2 == 0 else sizes[::-1]:
                app = apps[size]
                emails = [f"new-{block:03d}-{n:03d}@example.com" for n in range(BLOCK)]
                await _block(app, emails, {name: timings[name][size] for name in USE_CASES})
    finally:
        for app in apps.values():
            app.hasher.close()
    return timings


async def _block(app: Services, emails: list[str], into: dict[str, list[float]]) -> None:
    """Register fresh users, log each in, and spend each login's refresh token, timing each."""
    password = "a scaling password"
    pairs: list[TokenPair] = []
    for email in emails:
        started = time.perf_counter()
        await app.accounts.register(email, password)
        into["register"].append(time.perf_counter() - started)
    for email in emails:
        started = time.perf_counter()
        pairs.append((await app.accounts.login(email, password)).pair)
        into["login"].append(time.perf_counter() - started)
    for pair in pairs:
        started = time.perf_counter()
        await app.sessions.refresh(pair.refresh_token)
        into["refresh"].append(time.perf_counter() - started)
