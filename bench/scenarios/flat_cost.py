"""flat-cost: what each endpoint costs per request with 1,000 stored rows and with a million.

In-process, through the app's ASGI callable (as `in-process` does), so that no server or
load generator adds its noise. Two stores per backend: one with 1,000 rows of each kind
(users, sessions, tasks, throttle counters, known login addresses, activity events) and
one with `--flat-rows` of each, the same rows on both backends (`bench.harness.filler`):
through the store's methods on memory, in bulk on PostgreSQL. Every filler user shares one bcrypt
hash at cost 4 (hashing a million times would take hours), and every filler row is live
(sessions and counters end in 30 days), so a background purge has nothing to delete while
the requests are timed.

The timed requests are those of one user with a normal amount of data (10 sessions,
50 tasks). Each operation runs `CALLS` times per round, each call timed on its own; a
round keeps the median, and the result is the best round of `ROUNDS`. The sizes take
turns call by call (A B, B A, ...), so that drift on the machine hits both alike.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import statistics
import time
import uuid
from collections import defaultdict
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass
from typing import IO, Any

from authapi.passwords import PasswordHasher
from authapi.records import Session
from authapi.settings import Settings
from authapi.store import MemoryStore, Store, open_store
from authapi.tokens import TokenCodec, fingerprint
from authapi.web.app import create_app
from bench.harness.asgi import ASGIApp, call, running
from bench.harness.filler import LIFETIME, fill_in_bulk, fill_through_store
from bench.harness.outcome import Bar, Chart, Measure, Options, Outcome, Table, at_most
from bench.harness.paths import (
    ACTIVITY_PATH,
    LOGIN_PATH,
    LOGOUT_ALL_PATH,
    LOGOUT_PATH,
    METRICS_PATH,
    PROFILE_PATH,
    REFRESH_PATH,
    REGISTER_PATH,
    SESSIONS_PATH,
    TASKS_PATH,
)
from bench.harness.postgres import fresh_schema, unreachable_note
from bench.harness.report import short_count

SMALL_ROWS = 1_000
# The timed user's data: "a normal amount".
USER_SESSIONS = 10
USER_TASKS = 50
ROUNDS = 5
CALLS = 20
# Each logout-all call leaves USER_SESSIONS revoked sessions behind; fewer calls keep the
# small store near its 1,000 rows.
LOGOUT_ALL_CALLS = 5
# A scrape counts every live session: at a million rows in memory, each takes a while.
SCRAPE_CALLS = 5
# Target from the issue: the cost per request at a million rows within 1.2x of at 1,000.
MAX_RATIO = 1.2
BCRYPT_ROUNDS = 4
SECRET = "flat-cost-benchmark-secret-" + "x" * 24
PASSWORD = "Wq9!vLr2-Zp7#kT"
SCRAPE = "GET /metrics"
ENDPOINTS = (
    "GET profile",
    "GET sessions",
    "GET tasks",
    "GET activity",
    "POST tasks",
    "POST login",
    "POST refresh",
    "POST logout",
    "POST logout-all",
)


def run(options: Options) -> list[Outcome]:
    """Time every endpoint at 1,000 and at `--flat-rows` rows, on memory and PostgreSQL."""
    large = options.flat_rows
    sizes = (SMALL_ROWS, large)
    outcome = Outcome(
        "flat-cost",
        f"each endpoint in-process at {SMALL_ROWS:,} vs {large:,} rows each of users, "
        f"sessions, tasks, throttle counters and activity events; best of {ROUNDS} medians of "
        f"{CALLS} calls",
    )
    results: dict[str, dict[str, dict[int, float]]] = {}
    log_path = options.output_dir / "logs" / "flat-cost.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("a") as log:
        results["memory"] = asyncio.run(_memory(sizes, options, outcome, log))
        with fresh_schema() as small_url, fresh_schema() as large_url:
            if small_url is None or large_url is None:
                outcome.notes.append(unreachable_note())
            else:
                urls = {SMALL_ROWS: small_url, large: large_url}
                results["postgresql"] = asyncio.run(_postgres(urls, options, outcome, log))
        logging.shutdown()
    _report(outcome, results, sizes)
    return [outcome]


@dataclass
class Site:
    """One app over one filled store, and the user whose requests are timed."""

    app: ASGIApp
    store: Store
    codec: TokenCodec
    email: str
    token: str
    leaver_id: str

    async def profile(self) -> dict[str, float]:
        """Read the caller's profile."""
        return {"GET profile": (await self._timed("GET", PROFILE_PATH, token=self.token))[0]}

    async def sessions(self) -> dict[str, float]:
        """List the caller's live sessions."""
        seconds, _ = await self._timed("GET", SESSIONS_PATH, token=self.token)
        return {"GET sessions": seconds}

    async def tasks(self) -> dict[str, float]:
        """List the first page of the caller's tasks."""
        seconds, _ = await self._timed("GET", f"{TASKS_PATH}?limit=20", token=self.token)
        return {"GET tasks": seconds}

    async def activity(self) -> dict[str, float]:
        """Read the first page of the caller's account activity."""
        seconds, _ = await self._timed("GET", f"{ACTIVITY_PATH}?limit=20", token=self.token)
        return {"GET activity": seconds}

    async def scrape(self) -> dict[str, float]:
        """Scrape /metrics, which counts the live sessions of every user."""
        return {SCRAPE: (await self._timed("GET", METRICS_PATH))[0]}

    async def create_task(self) -> dict[str, float]:
        """Create a task, then delete it untimed so the caller keeps USER_TASKS."""
        seconds, body = await self._timed(
            "POST", TASKS_PATH, {"title": "A timed task"}, self.token, expect=201
        )
        task_id = json.loads(body)["id"]
        await self._timed("DELETE", f"{TASKS_PATH}/{task_id}", token=self.token, expect=204)
        return {"POST tasks": seconds}

    async def login_refresh_logout(self) -> dict[str, float]:
        """Log in, spend the refresh token, and log out of the new session: three timings."""
        credentials = {"email": self.email, "password": PASSWORD}
        login, body = await self._timed("POST", LOGIN_PATH, credentials)
        spent = {"refresh_token": json.loads(body)["refresh_token"]}
        refresh, body = await self._timed("POST", REFRESH_PATH, spent)
        token = json.loads(body)["access_token"]
        logout, _ = await self._timed("POST", LOGOUT_PATH, token=token, expect=204)
        return {"POST login": login, "POST refresh": refresh, "POST logout": logout}

    async def logout_all(self) -> dict[str, float]:
        """Give the second user USER_SESSIONS live sessions untimed, then end them all."""
        token = await self._open_sessions(self.leaver_id, USER_SESSIONS)
        seconds, _ = await self._timed("POST", LOGOUT_ALL_PATH, token=token, expect=200)
        return {"POST logout-all": seconds}

    async def _open_sessions(self, user_id: str, count: int) -> str:
        # Straight into the store: logging in over HTTP would pay bcrypt ten times per call.
        user = await self.store.get_user(user_id)
        assert user is not None
        now = int(time.time())
        token = ""
        for _ in range(count):
            session_id = str(uuid.uuid4())
            pair = self.codec.issue_pair(user_id, session_id, now + LIFETIME, now)
            await self.store.add_session(
                Session(
                    id=session_id,
                    user_id=user_id,
                    created_at=now,
                    expires_at=now + LIFETIME,
                    refresh_hash=fingerprint(pair.refresh_token),
                    credential_version=user.credential_version,
                )
            )
            token = pair.access_token
        return token

    async def _timed(
        self,
        method: str,
        path: str,
        body: dict[str, Any] | None = None,
        token: str | None = None,
        expect: int = 200,
    ) -> tuple[float, bytes]:
        raw = b"" if body is None else json.dumps(body).encode()
        started = time.perf_counter()
        status, answer = await call(self.app, method, path, raw, token)
        seconds = time.perf_counter() - started
        if status != expect:
            raise RuntimeError(f"{method} {path} answered {status}, not {expect}: {answer[:300]!r}")
        return seconds, answer


# Each operation with its calls per round; reads first, so that the rows the writes leave
# behind (revoked sessions) do not pile up under them.
OPERATIONS: tuple[tuple[Callable[[Site], Awaitable[dict[str, float]]], int], ...] = (
    (Site.profile, CALLS),
    (Site.sessions, CALLS),
    (Site.tasks, CALLS),
    (Site.activity, CALLS),
    (Site.scrape, SCRAPE_CALLS),
    (Site.create_task, CALLS),
    (Site.login_refresh_logout, CALLS),
    (Site.logout_all, LOGOUT_ALL_CALLS),
)


def _settings(storage_url: str = "memory://") -> Settings:
    return Settings(
        jwt_secret_key=SECRET,
        bcrypt_rounds=BCRYPT_ROUNDS,
        # The per-address counter runs on every login, as deployed, but never refuses the
        # harness's hundreds of logins from one address.
        auth_rate_limit_per_minute=10**9,
        registrations_per_address_per_day=10**9,
        task_writes_per_minute=10**9,
        log_level="INFO",
        storage_url=storage_url,
        metrics_enabled=True,
    )


async def _memory(
    sizes: tuple[int, ...], options: Options, outcome: Outcome, log: IO[str]
) -> dict[str, dict[int, float]]:
    # Past the default ceilings on purpose at a million rows of each kind, plus the timed ones.
    stores = {size: MemoryStore(max_users=10**9, max_tasks=10**9) for size in sizes}
    password_hash = _filler_hash()
    for size, store in stores.items():
        fill = fill_through_store(store, size, int(time.time()), password_hash)
        await _timed_fill("memory", size, fill, options, outcome)
    return await _time_sites(
        {size: (_settings(), store) for size, store in stores.items()}, options, log, "memory"
    )


async def _postgres(
    urls: dict[int, str], options: Options, outcome: Outcome, log: IO[str]
) -> dict[str, dict[int, float]]:
    password_hash = _filler_hash()
    for size, url in urls.items():
        fill = fill_in_bulk(url, size, int(time.time()), password_hash)
        await _timed_fill("postgresql", size, fill, options, outcome)
    return await _time_sites(
        {size: (_settings(url), open_store(url)) for size, url in urls.items()},
        options,
        log,
        "postgresql",
    )


def _filler_hash() -> str:
    hasher = PasswordHasher(BCRYPT_ROUNDS)
    try:
        return hasher.hash_sync("a filler password")
    finally:
        hasher.close()


async def _timed_fill(
    backend: str, size: int, fill: Awaitable[None], options: Options, outcome: Outcome
) -> None:
    started = time.perf_counter()
    await fill
    took = time.perf_counter() - started
    options.progress(f"{backend}: {size:,} rows of each kind in {took:.1f} s")
    outcome.measures.append(Measure(f"{backend}: fill {size:,} rows of each", took, "s"))


async def _time_sites(
    backends: dict[int, tuple[Settings, Store]], options: Options, log: IO[str], name: str
) -> dict[str, dict[int, float]]:
    async with AsyncExitStack() as stack:
        sites = {}
        for size, (settings, store) in backends.items():
            # The app's log handler takes stdout as it finds it when the app is built.
            with contextlib.redirect_stdout(log):
                app = create_app(settings, store=store)
            await stack.enter_async_context(running(app))
            sites[size] = await _prepare(app, store, settings)
        options.progress(f"{name}: timing {len(ENDPOINTS) + 1} requests, {ROUNDS} rounds")
        return await _measure(sites)


async def _prepare(app: ASGIApp, store: Store, settings: Settings) -> Site:
    """Register the timed user with its sessions and tasks, and a second one for logout-all."""
    email = "flat-cost@example.com"
    credentials = json.dumps({"email": email, "password": PASSWORD}).encode()
    await _expect(app, "POST", REGISTER_PATH, credentials, None, 201)
    token = ""
    for _ in range(USER_SESSIONS):
        body = await _expect(app, "POST", LOGIN_PATH, credentials, None, 200)
        token = json.loads(body)["access_token"]
    for number in range(USER_TASKS):
        task = json.dumps({"title": f"Task {number}", "description": "Something to do"})
        await _expect(app, "POST", TASKS_PATH, task.encode(), token, 201)
    leaver = json.dumps({"email": "flat-cost-leaver@example.com", "password": PASSWORD})
    body = await _expect(app, "POST", REGISTER_PATH, leaver.encode(), None, 201)
    return Site(app, store, TokenCodec(settings), email, token, json.loads(body)["id"])


async def _expect(
    app: ASGIApp, method: str, path: str, body: bytes, token: str | None, status: int
) -> bytes:
    answered, answer = await call(app, method, path, body, token)
    if answered != status:
        raise RuntimeError(f"setup: {method} {path} answered {answered}: {answer[:300]!r}")
    return answer


async def _measure(sites: dict[int, Site]) -> dict[str, dict[int, float]]:
    sizes = sorted(sites)
    # One unmeasured pass: first calls build caches (routes, validators, token memory).
    for site in sites.values():
        for operation, _ in OPERATIONS:
            await operation(site)
    medians: dict[str, dict[int, list[float]]] = defaultdict(lambda: defaultdict(list))
    for _ in range(ROUNDS):
        for operation, calls in OPERATIONS:
            samples: dict[str, dict[int, list[float]]] = defaultdict(lambda: defaultdict(list))
            for number in range(calls):
                # The sizes take turns call by call (A B, B A, ...): drift hits both alike.
                for size in sizes if number % 2 == 0 else sizes[::-1]:
                    for name, seconds in (await operation(sites[size])).items():
                        samples[name][size].append(seconds)
            for name, by_size in samples.items():
                for size, values in by_size.items():
                    medians[name][size].append(statistics.median(values))
    return {
        name: {size: min(values) for size, values in by_size.items()}
        for name, by_size in medians.items()
    }


def _report(
    outcome: Outcome, results: dict[str, dict[str, dict[int, float]]], sizes: tuple[int, int]
) -> None:
    small, large = sizes
    rows = []
    for backend, timings in results.items():
        ratios = {}
        for endpoint in (*ENDPOINTS, SCRAPE):
            at_small, at_large = timings[endpoint][small], timings[endpoint][large]
            ratio = at_large / at_small
            judged = endpoint != SCRAPE
            rows.append(
                [
                    f"{backend}: {endpoint}",
                    f"{1000 * at_small:,.3f}",
                    f"{1000 * at_large:,.3f}",
                    f"{ratio:,.2f}x",
                    f"≤ {MAX_RATIO:g}x" if judged else "none (a scrape)",
                ]
            )
            if judged:
                ratios[endpoint] = ratio
                outcome.targets.append(
                    at_most(
                        f"{backend} {endpoint}, {short_count(large)} vs {short_count(small)} rows",
                        ratio,
                        MAX_RATIO,
                        "x",
                    )
                )
        outcome.charts.append(
            Chart(
                f"flat-cost: {backend}",
                f"cost at {short_count(large)} / at {short_count(small)} rows",
                [Bar(endpoint.replace(" ", "\n", 1), ratio) for endpoint, ratio in ratios.items()],
                line=MAX_RATIO,
                line_label=f"target {MAX_RATIO:g}x",
            )
        )
    outcome.tables.append(
        Table(
            "ms per request (best round's median)",
            ["backend: request", f"at {small:,}", f"at {large:,}", "ratio", "target"],
            rows,
        )
    )
    outcome.extra = {"seconds": results}
    outcome.notes += [
        f"the timed user has {USER_SESSIONS} sessions and {USER_TASKS} tasks; bcrypt at cost "
        f"{BCRYPT_ROUNDS}; login also counts its address (a limit no run reaches) and checks "
        "the account's failures, as deployed",
        "each store also holds what the timed writes leave behind: a revoked session per "
        f"login and {USER_SESSIONS} per logout-all call (about "
        f"{(ROUNDS + 1) * (CALLS + LOGOUT_ALL_CALLS * USER_SESSIONS):,} rows by the end)",
        "GET /metrics is a scrape that counts every user's live sessions, not a user's "
        "request: reported, not judged",
    ]
