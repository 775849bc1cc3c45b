"""soak: minutes of login / refresh / logout churn, then memory and tables back near start.

Two project servers run side by side, one on the memory store and one on PostgreSQL (a
fresh schema), with the shortest lifetimes the settings allow, bcrypt at cost 4 and no
per-address limit. Eight clients per server cycle through their users: log in, spend the
refresh token, read the profile, log out; every fourth cycle also tries one of 2,000 unknown emails,
which leaves a failure counter behind. Refresh tokens live at least a day, so sessions
end by logout (revocation), never by expiry, within a run.

Ten samples over the churn read each server's resident memory from /proc, its live
sessions from /metrics, and for PostgreSQL each table's rows and `pg_total_relation_size`;
one more after the churn stops and the server has had `--soak-settle` seconds to purge.
Python rarely hands freed memory back, and PostgreSQL reuses the space of deleted rows
rather than shrinking a table, so memory and sizes are judged against the plateau (after
warm-up, half-time) and the rows against what the churn created.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from typing import Any

from bench.harness import client
from bench.harness.cpu import tree_rss_bytes
from bench.harness.outcome import Bar, Chart, Measure, Options, Outcome, Table, Target, at_most
from bench.harness.paths import LOGIN_PATH, LOGOUT_PATH, METRICS_PATH, PROFILE_PATH, REFRESH_PATH
from bench.harness.postgres import connect_to_schema, fresh_schema, unreachable_note
from bench.harness.servers import Server, project_server

SOAK_ENV = {
    "BCRYPT_ROUNDS": "4",
    "ACCESS_TOKEN_EXPIRE_MINUTES": "1",
    # The least the settings allow: a session ends by logout long before it expires.
    "REFRESH_TOKEN_EXPIRE_DAYS": "1",
    "AUTH_RATE_LIMIT_PER_MINUTE": "0",
    "REGISTRATIONS_PER_ADDRESS_PER_DAY": "0",
    "TASK_WRITES_PER_MINUTE": "0",
    # One failure locks an account for 36 s, the shortest window the cap of 100 failed
    # logins per account per hour allows: failure counters end soon after they begin.
    "LOGIN_MAX_FAILURES": "1",
    "LOGIN_FAILURE_WINDOW_SECONDS": "36",
}
USERS = 400
# An attacker's list of emails: each one tried every few minutes, past its 36 s window.
# Each unknown email keeps a per-account ceiling counter for an hour; emails never seen
# before would add rows for an hour however well the purge works (bounded, off the soak,
# by AUTH_RATE_LIMIT_PER_MINUTE per address).
UNKNOWN_EMAILS = 2000
CLIENTS_PER_SERVER = 8
FAILED_LOGIN_EVERY = 4
REQUEST_TIMEOUT = 30.0
SAMPLES = 10
# Sample 2 of 10 ends the warm-up; sample 5 is half-time.
WARM_SAMPLE = 2
HALF_SAMPLE = 5
TABLES = ("sessions", "throttles", "known_addresses")
# Throttle rows whose window has ended. A counter in its window is live, not a leak: the
# per-account ceiling of an unknown email counts for an hour, far past a 10-minute soak.
ENDED_THROTTLES = "throttles (window ended)"
# Targets: memory and table sizes stay on their plateau, and the rows the churn wrote go.
MAX_RSS_GROWTH = 1.2
# A session the memory store kept after its logout costs some 500 bytes; memory that grows
# by less than this per cycle in the second half is the allocator's noise, not a leak.
MAX_BYTES_PER_CYCLE = 256
MAX_SIZE_GROWTH = 1.2
MAX_ROWS_LEFT_PCT = 5.0
MIB = 1024 * 1024


@dataclass
class Churn:
    """What one server's clients did: answers by step and status, and complete cycles."""

    cycles: int = 0
    answers: dict[str, Counter[str]] = field(default_factory=dict)

    def count(self, step: str, outcome: str) -> None:
        """Count one answer (a status) or failure (timeout, broken) of a step."""
        self.answers.setdefault(step, Counter())[outcome] += 1

    def ok(self, step: str, status: str) -> int:
        """Return how many of a step's requests were answered with `status`."""
        return self.answers.get(step, Counter())[status]


@dataclass(frozen=True)
class Sample:
    """One reading of every server (and PostgreSQL's tables) at `at` seconds into the churn."""

    at: float
    label: str
    rss: dict[str, int]
    cycles: dict[str, int]
    live_sessions: dict[str, int | None]
    rows: dict[str, int]
    sizes: dict[str, int]


def run(options: Options) -> list[Outcome]:
    """Churn logins on a memory server and a PostgreSQL server; judge memory and tables."""
    env = {**SOAK_ENV, **dict(options.soak_env)}
    logs = options.output_dir / "logs"
    notes = []
    with ExitStack() as stack:
        servers = {
            "memory": stack.enter_context(
                project_server("soak-memory", cores=None, log_dir=logs, env=env)
            )
        }
        storage_url = stack.enter_context(fresh_schema("bench_soak"))
        if storage_url is None:
            notes.append(unreachable_note())
        else:
            servers["postgresql"] = stack.enter_context(
                project_server(
                    "soak-postgresql",
                    cores=None,
                    log_dir=logs,
                    env={**env, "STORAGE_URL": storage_url},
                )
            )
        samples, churn = client.run(_soak(servers, storage_url, options))
    outcome = _outcome(options, env, samples, churn)
    outcome.notes[:0] = notes
    return [outcome]


async def _soak(
    servers: Mapping[str, Server], storage_url: str | None, options: Options
) -> tuple[list[Sample], dict[str, Churn]]:
    users = client.fresh_users("soak", USERS)
    for server in servers.values():
        await client.register_all(server.base_url, users, concurrency=4)
    tables = await _Tables.open(storage_url) if storage_url is not None else None
    churn = {name: Churn() for name in servers}
    started = time.perf_counter()

    async def sample(label: str) -> Sample:
        return await _sample(time.perf_counter() - started, label, servers, churn, tables)

    try:
        samples = [await sample("start")]
        options.progress(
            f"registered {USERS} users per server; churning {options.soak_seconds:g} s"
        )
        stop = asyncio.Event()
        clients = [
            asyncio.create_task(
                _client(server.base_url, users[number::CLIENTS_PER_SERVER], churn[name], stop)
            )
            for name, server in servers.items()
            for number in range(CLIENTS_PER_SERVER)
        ]
        step = options.soak_seconds / SAMPLES
        for number in range(1, SAMPLES + 1):
            await asyncio.sleep(max(0.0, started + number * step - time.perf_counter()))
            label = {WARM_SAMPLE: "warm", HALF_SAMPLE: "half", SAMPLES: "end"}.get(number, "")
            samples.append(await sample(label))
            options.progress(_progress_line(samples[-1], samples[-2]))
        stop.set()
        # Each client ends its cycle: its last session is logged out too.
        await asyncio.gather(*clients)
        await asyncio.sleep(options.soak_settle)
        samples.append(await sample("settled"))
        options.progress(_progress_line(samples[-1], samples[-2]))
    finally:
        if tables is not None:
            await tables.close()
    return samples, churn


async def _client(
    base_url: str, users: Sequence[tuple[str, str]], churn: Churn, stop: asyncio.Event
) -> None:
    """Cycle through `users`: log in, refresh, read the profile, log out, until `stop`."""
    connection = client.Connection(base_url)
    number = 0
    try:
        while not stop.is_set():
            email, password = users[number % len(users)]
            number += 1
            if number % FAILED_LOGIN_EVERY == 0:
                stranger = {
                    "email": f"nobody-{number % UNKNOWN_EMAILS:04d}@example.com",
                    "password": password,
                }
                await _send(connection, churn, "failed login", "POST", LOGIN_PATH, body=stranger)
            body = await _send(
                connection,
                churn,
                "login",
                "POST",
                LOGIN_PATH,
                body={"email": email, "password": password},
            )
            if body is None:
                continue
            tokens = json.loads(body)
            body = await _send(
                connection,
                churn,
                "refresh",
                "POST",
                REFRESH_PATH,
                body={"refresh_token": tokens["refresh_token"]},
            )
            if body is not None:
                tokens = json.loads(body)
            bearer = {"Authorization": f"Bearer {tokens['access_token']}"}
            await _send(connection, churn, "profile", "GET", PROFILE_PATH, headers=bearer)
            if (
                await _send(connection, churn, "logout", "POST", LOGOUT_PATH, headers=bearer)
                is not None
            ):
                churn.cycles += 1
    finally:
        connection.close()


# The answer each step expects; anything else is counted, and the cycle goes on.
EXPECTED = {"failed login": 401, "login": 200, "refresh": 200, "profile": 200, "logout": 204}


async def _send(
    connection: client.Connection,
    churn: Churn,
    step: str,
    method: str,
    path: str,
    headers: Mapping[str, str] | None = None,
    body: Any = None,
) -> bytes | None:
    """Send one request; return its body if it got the expected status, else None."""
    try:
        status, answer = await connection.send(
            connection.request(method, path, headers, body), REQUEST_TIMEOUT
        )
    except TimeoutError:
        churn.count(step, "timeout")
        return None
    except client.RequestFailed:
        churn.count(step, "broken")
        await asyncio.sleep(0.05)
        return None
    churn.count(step, str(status))
    return answer if status == EXPECTED[step] else None


class _Tables:
    """Rows and on-disk size of the purged tables, read over one connection."""

    def __init__(self, connection: Any) -> None:
        self.connection = connection

    @classmethod
    async def open(cls, storage_url: str) -> _Tables:
        """Connect to the schema of `storage_url`."""
        return cls(await connect_to_schema(storage_url))

    async def read(self) -> tuple[dict[str, int], dict[str, int]]:
        """Return each table's row count and its size with indexes and TOAST, in bytes."""
        # The names are ours, so formatting them in is safe.
        columns = ", ".join(
            f"(SELECT count(*) FROM {table}), pg_total_relation_size('{table}')" for table in TABLES
        )
        # Counters whose window has ended: the only ones the purge may delete.
        ended = "(SELECT count(*) FROM throttles WHERE resets_at <= extract(epoch FROM now()))"
        row = await self.connection.fetchrow(f"SELECT {columns}, {ended}")
        values = list(row)
        rows = {table: int(values[2 * n]) for n, table in enumerate(TABLES)}
        rows[ENDED_THROTTLES] = int(values[-1])
        sizes = {table: int(values[2 * n + 1]) for n, table in enumerate(TABLES)}
        return rows, sizes

    async def close(self) -> None:
        """Close the connection."""
        await self.connection.close()


async def _sample(
    at: float,
    label: str,
    servers: Mapping[str, Server],
    churn: Mapping[str, Churn],
    tables: _Tables | None,
) -> Sample:
    rows, sizes = await tables.read() if tables is not None else ({}, {})
    return Sample(
        at=at,
        label=label,
        rss={name: tree_rss_bytes(server.pid) for name, server in servers.items()},
        cycles={name: churn[name].cycles for name in servers},
        live_sessions={
            name: await _live_sessions(server.base_url) for name, server in servers.items()
        },
        rows=rows,
        sizes=sizes,
    )


async def _live_sessions(base_url: str) -> int | None:
    """Read the authapi_live_sessions gauge from the server's /metrics."""
    connection = client.Connection(base_url)
    try:
        status, body = await connection.send(connection.request("GET", METRICS_PATH), 10.0)
    except (TimeoutError, client.RequestFailed):
        return None
    finally:
        connection.close()
    if status != 200:
        return None
    for line in body.decode().splitlines():
        if line.startswith("authapi_live_sessions "):
            return int(float(line.split()[1]))
    return None


def _progress_line(sample: Sample, previous: Sample) -> str:
    seconds = max(sample.at - previous.at, 1e-9)
    parts = [f"{sample.at:6.0f} s {sample.label:<7}"]
    for name, rss in sample.rss.items():
        rate = (sample.cycles[name] - previous.cycles[name]) / seconds
        parts.append(f"{name} {rss / MIB:.0f} MiB, {rate:.0f} cycles/s")
    if sample.rows:
        parts.append(", ".join(f"{table} {rows:,}" for table, rows in sample.rows.items()))
    return "; ".join(parts)


def _outcome(
    options: Options, env: Mapping[str, str], samples: list[Sample], churn: Mapping[str, Churn]
) -> Outcome:
    outcome = Outcome(
        "soak",
        f"{options.soak_seconds:g} s of login / refresh / profile / logout churn, "
        f"{CLIENTS_PER_SERVER} clients per server over {USERS} users, then "
        f"{options.soak_settle:g} s to settle",
    )
    start, warm, half, end, settled = (
        samples[0],
        samples[WARM_SAMPLE],
        samples[HALF_SAMPLE],
        samples[SAMPLES],
        samples[-1],
    )
    outcome.tables.append(_timeline(samples))
    for name, done in churn.items():
        outcome.measures += [
            Measure(f"{name}: churn cycles", done.cycles, ""),
            Measure(f"{name}: cycles per second", done.cycles / options.soak_seconds, "/s"),
        ]
        unexpected = {
            step: {answer: n for answer, n in answers.items() if answer != str(EXPECTED[step])}
            for step, answers in done.answers.items()
        }
        unexpected = {step: answers for step, answers in unexpected.items() if answers}
        if unexpected:
            outcome.notes.append(f"{name}: unexpected answers by step: {unexpected}")
    rss_growth = settled.rss["memory"] / warm.rss["memory"]
    second_half = max(1, end.cycles["memory"] - half.cycles["memory"])
    per_cycle = (end.rss["memory"] - half.rss["memory"]) / second_half
    outcome.targets += [
        at_most("memory server: RSS settled vs after warm-up", rss_growth, MAX_RSS_GROWTH, "x"),
        at_most(
            "memory server: RSS growth per cycle, second half",
            per_cycle,
            MAX_BYTES_PER_CYCLE,
            "B",
        ),
    ]
    if "postgresql" in churn:
        outcome.targets += _table_targets(churn["postgresql"], start, half, settled)
        outcome.measures.append(
            Measure(
                "postgresql server: RSS settled vs after warm-up",
                settled.rss["postgresql"] / warm.rss["postgresql"],
                "x",
            )
        )
    outcome.charts = [
        Chart(
            "soak: memory server RSS",
            "MiB",
            [Bar(_name(s), s.rss["memory"] / MIB) for s in (start, warm, half, end, settled)],
            line=MAX_RSS_GROWTH * warm.rss["memory"] / MIB,
            line_label=f"{MAX_RSS_GROWTH:g}x after warm-up",
        )
    ]
    if settled.sizes:
        outcome.charts.append(
            Chart(
                "soak: PostgreSQL tables",
                "MiB (sessions, throttles, known_addresses)",
                [
                    Bar(_name(s), sum(s.sizes.values()) / MIB)
                    for s in (start, warm, half, end, settled)
                ],
                line=MAX_SIZE_GROWTH * sum(half.sizes.values()) / MIB,
                line_label=f"{MAX_SIZE_GROWTH:g}x at half-time",
            )
        )
    outcome.extra = {
        "env": dict(env),
        "samples": [vars(sample) for sample in samples],
        "answers": {name: {k: dict(v) for k, v in c.answers.items()} for name, c in churn.items()},
    }
    outcome.notes += [
        "RSS is VmRSS from /proc of the server's process tree; Python seldom returns freed "
        "memory to the system, so the target asks for a plateau after the warm-up, not a "
        "return to the idle start",
        "a refresh token lives at least a day (REFRESH_TOKEN_EXPIRE_DAYS ≥ 1), so sessions "
        "end by logout here; an abandoned session would stay until it expires",
        f"server variables: {' '.join(f'{k}={v}' for k, v in env.items())}; pass "
        "--soak-env NAME=VALUE for more (a purge interval, say)",
    ]
    return outcome


def _table_targets(pg: Churn, start: Sample, half: Sample, settled: Sample) -> list[Target]:
    logins, failures = pg.ok("login", "200"), pg.ok("failed login", "401")
    targets = []
    for table, created in (("sessions", logins), (ENDED_THROTTLES, failures)):
        left = settled.rows[table] - start.rows[table]
        share = 100 * left / created if created else 0.0
        targets.append(
            at_most(
                f"postgresql {table}: rows left of {created:,} the churn created",
                share,
                MAX_ROWS_LEFT_PCT,
                "%",
            )
        )
    addresses = settled.rows["known_addresses"]
    targets.append(
        at_most(f"postgresql known_addresses rows ({USERS} users, 1 address)", addresses, USERS, "")
    )
    growth = sum(settled.sizes.values()) / sum(half.sizes.values())
    targets.append(
        at_most("postgresql table sizes: settled vs at half-time", growth, MAX_SIZE_GROWTH, "x")
    )
    return targets


def _timeline(samples: list[Sample]) -> Table:
    names = list(samples[0].rss)
    columns = ["t (s)"]
    for name in names:
        columns += [f"{name} cycles/s", f"{name} RSS MiB", f"{name} live"]
    if samples[0].rows:
        for table in TABLES:
            columns += [f"{table} rows", f"{table} MiB"]
    rows = []
    for previous, sample in zip([samples[0], *samples], samples, strict=False):
        seconds = sample.at - previous.at
        row = [f"{sample.at:.0f} {sample.label}".strip()]
        for name in names:
            done = sample.cycles[name] - previous.cycles[name]
            live = sample.live_sessions[name]
            row += [
                f"{done / seconds:.0f}" if seconds > 0 else "-",
                f"{sample.rss[name] / MIB:.1f}",
                "?" if live is None else f"{live:,}",
            ]
        for table in TABLES if sample.rows else ():
            row += [f"{sample.rows[table]:,}", f"{sample.sizes[table] / MIB:.2f}"]
        rows.append(row)
    return Table(
        "samples (cycles/s since the previous sample; live sessions from /metrics)", columns, rows
    )


def _name(sample: Sample) -> str:
    return sample.label or f"{sample.at:.0f} s"
