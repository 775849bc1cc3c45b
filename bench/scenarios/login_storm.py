"""The login storm: production-cost bcrypt under 100 users logging in at once.

One project server runs at BCRYPT_ROUNDS=12 with the per-address and per-account limits
off (every simulated user shares one address). After registering the users, the harness
measures the machine's bcrypt ceiling, runs the storm in two phases (logins alone, then
logins with a constant stream of protected GETs), and measures the ceiling again.

Nothing is pinned here, unlike the throughput scenarios: the server's bcrypt pool has one
thread per core and needs every core to reach the ceiling, and the ceiling is measured the
same way (one thread per core, unpinned) on the same machine while the server sits idle.
The clients share the cores; their CPU use is reported beside the server's.
"""

from __future__ import annotations

import os
import time

from bench.harness import client, storm_load
from bench.harness.ceiling import Ceiling, bcrypt_ceiling
from bench.harness.outcome import Bar, Chart, Measure, Options, Outcome, Target, at_most
from bench.harness.paths import PROFILE_PATH
from bench.harness.result import LoadResult, from_latencies, percentile_ms
from bench.harness.rounds import NOISY_OTHER_CPU_PCT, settle, summarise
from bench.harness.servers import project_server, sign_up

BCRYPT_ROUNDS = 12
STORM_ENV = {
    "BCRYPT_ROUNDS": str(BCRYPT_ROUNDS),
    "AUTH_RATE_LIMIT_PER_MINUTE": "0",
    "REGISTRATIONS_PER_ADDRESS_PER_DAY": "0",
    "TASK_WRITES_PER_MINUTE": "0",
    "LOGIN_MAX_FAILURES": "0",
    # The defaults, stated: one bcrypt thread per core, a hash waits 5 s at most.
    "HASH_CONCURRENCY": "0",
    "HASH_QUEUE_TIMEOUT_SECONDS": "5",
}
# Longer than the queue timeout, so the first wave of shed logins has come and gone.
WARMUP_SECONDS = 6.0
CEILING_SECONDS = 5.0
# The background reads: 20 connections, each with a GET due every 100 ms (200 GETs/s).
GET_CONNECTIONS = 20
GET_INTERVAL = 0.1
# Targets from the performance issue.
MIN_SHARE_OF_CEILING = 90.0
MAX_STORM_P99_MS = 100.0


def run(options: Options, storage_url: str | None = None) -> list[Outcome]:
    """Measure logins/s against the bcrypt ceiling, and GET latency during the storm.

    The server runs on the memory store, or on `storage_url` when one is given.
    """
    threads = len(os.sched_getaffinity(0))
    users = client.fresh_users("storm", options.storm_users)
    plan = storm_load.StormPlan(
        users=users,
        get_headers={},
        get_path=PROFILE_PATH,
        warmup=WARMUP_SECONDS,
        seconds=options.storm_seconds,
        get_connections=GET_CONNECTIONS,
        get_interval=GET_INTERVAL,
        get_timeout=options.load.timeout,
    )
    env = STORM_ENV if storage_url is None else {**STORM_ENV, "STORAGE_URL": storage_url}
    name = "login-storm" if storage_url is None else "pg-login-storm"
    with project_server(name, cores=None, log_dir=options.output_dir / "logs", env=env) as server:
        started = time.perf_counter()
        shed_registrations = client.run(
            client.register_all(server.base_url, users, concurrency=2 * threads)
        )
        registering = time.perf_counter() - started
        options.progress(
            f"registered {len(users)} users at cost {BCRYPT_ROUNDS} in {registering:.1f} s"
        )
        plan = _with_reader(plan, sign_up(server.base_url).headers)
        ceilings = {"one thread": _ceiling(1, options)}
        ceilings["before the storm"] = _ceiling(threads, options)
        result = client.run(storm_load.storm(server.base_url, plan, server.pid))
        # Logins still queued in the server hash on for up to the queue timeout.
        time.sleep(float(STORM_ENV["HASH_QUEUE_TIMEOUT_SECONDS"]) + 1)
        ceilings["after the storm"] = _ceiling(threads, options)
    # The better of the two: noise from other processes can only lower a measurement.
    ceiling = max(ceilings["before the storm"].rate, ceilings["after the storm"].rate)
    storm = _storm_outcome(options, result, threads, ceilings, ceiling)
    storm.measures[:0] = [
        Measure(f"registrations at cost {BCRYPT_ROUNDS} (setup)", len(users) / registering, "/s"),
        Measure("registrations shed with 503 and retried (setup)", shed_registrations, ""),
    ]
    share = 100 * _rate(result.logins["alone"], result.seconds) / ceiling
    storm.targets = [
        Target(
            f"logins/s, {options.storm_users} users, vs the bcrypt ceiling ≥ "
            f"{MIN_SHARE_OF_CEILING:g}%",
            share,
            "%",
            share >= MIN_SHARE_OF_CEILING,
        ),
        at_most("logins failed other than by load shedding (503)", _failures(result), 0, ""),
    ]
    return [storm, _latency_outcome(options, result)]


def _ceiling(threads: int, options: Options) -> Ceiling:
    settle(options.progress)
    measured = bcrypt_ceiling(BCRYPT_ROUNDS, CEILING_SECONDS, threads)
    options.progress(
        f"bcrypt ceiling {measured.rate:.2f} checks/s with {threads} thread(s), "
        f"other processes {measured.other_cpu_pct:.0f}% of a core"
    )
    return measured


def _with_reader(plan: storm_load.StormPlan, headers: dict[str, str]) -> storm_load.StormPlan:
    return storm_load.StormPlan(**{**vars(plan), "get_headers": headers})


def _rate(tally: storm_load.Tally, seconds: float) -> float:
    return tally.statuses[200] / seconds


def _failures(result: storm_load.StormResult) -> int:
    return sum(
        tally.timeouts
        + tally.socket_errors
        + sum(n for status, n in tally.statuses.items() if status not in (200, 503))
        for tally in result.logins.values()
    )


def _storm_outcome(
    options: Options,
    result: storm_load.StormResult,
    threads: int,
    ceilings: dict[str, Ceiling],
    ceiling: float,
) -> Outcome:
    gets_per_second = GET_CONNECTIONS / GET_INTERVAL
    phases = {"alone": "logins alone", "mixed": f"with {gets_per_second:g} GETs/s"}
    outcome = Outcome(
        "login-storm",
        f"{options.storm_users} users logging in back to back at BCRYPT_ROUNDS={BCRYPT_ROUNDS}, "
        f"{options.storm_seconds:g} s per phase, nothing pinned",
    )
    for when, measured in ceilings.items():
        label = when if when == "one thread" else f"{when}, {threads} threads"
        outcome.measures.append(Measure(f"bcrypt ceiling, {label}", measured.rate, "checks/s"))
        if measured.other_cpu_pct > NOISY_OTHER_CPU_PCT:
            outcome.notes.append(
                f"noisy: other processes kept {measured.other_cpu_pct:.0f}% of a core busy "
                f"while the ceiling {when} was measured"
            )
    for key, label in phases.items():
        tally, cpu = result.logins[key], result.cpu[key]
        succeeded = sorted(tally.latencies.get(200, []))
        outcome.measures += [
            Measure(f"logins/s, {label}", _rate(tally, result.seconds), "/s"),
            Measure(f"  logins shed with 503, {label}", tally.statuses[503] / result.seconds, "/s"),
            Measure(
                "  successful login p50 (queue wait included)",
                percentile_ms(succeeded, 0.5),
                "ms",
            ),
            Measure("  successful login p99", percentile_ms(succeeded, 0.99), "ms"),
        ]
        outcome.notes.append(
            f"CPU, {label}: server {cpu.server or 0:.0f}%, clients {cpu.load:.0f}%, "
            f"other {cpu.other:.0f}% of one core ({100 * threads}% is the whole machine)"
            + (" - noisy" if cpu.other > NOISY_OTHER_CPU_PCT else "")
        )
    outcome.charts = [
        Chart(
            "login-storm",
            "bcrypt checks or logins per second",
            [
                *(
                    Bar(f"ceiling\n{when.removesuffix(' the storm')}", measured.rate)
                    for when, measured in ceilings.items()
                ),
                *(
                    Bar(f"logins/s\n{key}", _rate(result.logins[key], result.seconds))
                    for key in phases
                ),
            ],
            line=ceiling * MIN_SHARE_OF_CEILING / 100,
            line_label=f"{MIN_SHARE_OF_CEILING:g}% of the better ceiling",
        )
    ]
    outcome.extra = {
        "login_statuses": {key: dict(tally.statuses) for key, tally in result.logins.items()},
        "cpu_pct": result.cpu,
        "env": STORM_ENV,
    }
    outcome.notes += [
        "nothing pinned: the bcrypt pool needs every core, and the ceiling is measured the "
        "same way (one thread per core, unpinned) while the server idles; the target uses "
        "the better of before and after, since other processes can only lower either",
        "a login shed with 503 waited HASH_QUEUE_TIMEOUT_SECONDS (5 s) for a bcrypt thread; "
        "it is load shedding by design, not a failure, and its user retries at once",
    ]
    return outcome


def _latency_outcome(options: Options, result: storm_load.StormResult) -> Outcome:
    gets = result.gets
    latencies = [value for values in gets.latencies.values() for value in values]
    non_200 = sum(n for status, n in gets.statuses.items() if status != 200)
    run = from_latencies(
        latencies,
        result.seconds,
        non_200=non_200,
        socket_errors=gets.socket_errors,
        timeouts=gets.timeouts,
        cpu=result.cpu["mixed"],
    )
    outcome = Outcome(
        "storm-latency",
        f"GET {PROFILE_PATH} at a constant {GET_CONNECTIONS / GET_INTERVAL:g}/s on "
        f"{GET_CONNECTIONS} connections during the login storm",
        apps={"project (storm)": summarise([run])},
    )
    outcome.measures = [
        Measure("GET p90", run.p90_ms, "ms"),
        Measure("GET max", run.max_ms, "ms"),
        Measure("GETs answered other than 200", non_200, ""),
        Measure("GETs timed out", gets.timeouts, f"(after {options.load.timeout:g} s)"),
        Measure("GETs lost to socket errors", gets.socket_errors, ""),
    ]
    outcome.targets = [
        at_most("GET p99 during the login storm", run.p99_ms, MAX_STORM_P99_MS, "ms"),
        at_most("GETs that failed or timed out during the storm", run.errors, 0, ""),
    ]
    outcome.charts = [
        Chart(
            "storm-latency",
            "GET latency during the storm (ms)",
            [Bar(name, value) for name, value in _percentiles(run).items()],
            line=MAX_STORM_P99_MS,
            line_label=f"p99 target {MAX_STORM_P99_MS:g} ms",
        )
    ]
    outcome.notes = [
        "each GET is due at a fixed time and its latency counts from then, so a stalled "
        "server cannot hide the requests it delayed",
    ]
    return outcome


def _percentiles(run: LoadResult) -> dict[str, float]:
    return {"p50": run.p50_ms, "p90": run.p90_ms, "p99": run.p99_ms, "max": run.max_ms}
