"""The benchmark scenarios: each starts its servers, loads them, and judges its targets."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from contextlib import ExitStack
from typing import Any

from bench.cpu import plan_cores
from bench.drive import drive
from bench.flatcost import flat_cost
from bench.inprocess import in_process
from bench.memory import memory
from bench.outcome import Options, Outcome, Target, at_least
from bench.overhead import metrics_overhead
from bench.pgmemory import pg_vs_memory
from bench.postgres import fresh_schema, unreachable_note
from bench.profile import hotspots, start_recording
from bench.rounds import Subject, describe, interleave, noise_notes, summarise
from bench.servers import (
    PROFILE_PATH,
    Account,
    Server,
    baseline_server,
    get_json,
    project_server,
    sign_up,
)
from bench.soak import soak
from bench.storm import login_storm
from tooling.devserver import TEST_ENV

# Targets from the performance issue.
MIN_RATIO_TO_FASTAPI = 1.0
MIN_RATIO_TO_STARLETTE = 0.5
MAX_P99_MS = 50.0
MIN_TWO_WORKER_SPEEDUP = 1.6
# Past this share of a core the Python load generator may be what limits throughput.
LOADGEN_SATURATED_PCT = 90.0


def protected_get(options: Options) -> list[Outcome]:
    """Compare the project's protected GET with bare Starlette and FastAPI, one worker each."""
    cores = plan_cores(server_cores=1)
    outcome = Outcome(
        "protected-get",
        f"GET {PROFILE_PATH} with a bearer token, 1 uvicorn worker each, "
        f"{options.load.connections} connections",
        notes=[cores.note],
    )
    logs = options.output_dir / "logs"
    with ExitStack() as stack:
        project = stack.enter_context(project_server("project", cores=cores.server, log_dir=logs))
        account = sign_up(project.base_url)
        servers = [project]
        for name in ("starlette", "fastapi"):
            servers.append(
                stack.enter_context(
                    baseline_server(
                        name,
                        account,
                        cores=cores.server,
                        log_dir=logs,
                        secret=TEST_ENV["JWT_SECRET_KEY"],
                    )
                )
            )
        _check_same_answer(servers, account)
        subjects = [Subject(s, PROFILE_PATH, account.headers, cores.loadgen) for s in servers]
        runs = interleave(subjects, options.load, options.rounds, options.progress)
    outcome.apps = {name: summarise(results) for name, results in runs.items()}
    rps = {name: float(app["rps"]) for name, app in outcome.apps.items()}
    outcome.ratios = {
        "project/starlette": rps["project"] / rps["starlette"],
        "project/fastapi": rps["project"] / rps["fastapi"],
    }
    p99 = float(outcome.apps["project"]["p99_ms"])
    outcome.targets = [
        at_least(
            "project vs FastAPI (req/s)", outcome.ratios["project/fastapi"], MIN_RATIO_TO_FASTAPI
        ),
        at_least(
            "project vs bare Starlette (req/s)",
            outcome.ratios["project/starlette"],
            MIN_RATIO_TO_STARLETTE,
        ),
        Target(
            f"project p99 at {options.load.connections} connections ≤ {MAX_P99_MS:g} ms",
            p99,
            "ms",
            p99 <= MAX_P99_MS,
        ),
    ]
    outcome.notes += [
        "the project logs a JSON access line per request at INFO to a file and serves "
        "/metrics; the baselines log nothing",
        _bottleneck_note(outcome.apps["starlette"]),
        *noise_notes(runs),
    ]
    return [outcome]


def pg_workers(options: Options) -> list[Outcome]:
    """Compare the project on PostgreSQL with one uvicorn worker and with two."""
    one, two = plan_cores(server_cores=1), plan_cores(server_cores=2)
    notes = [f"1 worker: {one.note}", f"2 workers: {two.note}"]
    if two.server is None:
        # Pinning only the one-worker run would change two things at once.
        one = two
        notes = [f"{two.note}; so the 1-worker run is not pinned either"]
    outcome = Outcome(
        "pg-workers",
        f"GET {PROFILE_PATH} on PostgreSQL (a fresh schema), 1 worker vs 2 workers, "
        f"{options.load.connections} connections",
        notes=notes,
    )
    logs = options.output_dir / "logs"
    with ExitStack() as stack:
        storage_url = stack.enter_context(fresh_schema())
        if storage_url is None:
            outcome.notes.append(unreachable_note())
            return [outcome]
        # Every worker must sign with the same key.
        env = {"STORAGE_URL": storage_url, "JWT_SECRET_KEY": TEST_ENV["JWT_SECRET_KEY"]}
        single = stack.enter_context(
            project_server("pg-1-worker", cores=one.server, log_dir=logs, env=env)
        )
        double = stack.enter_context(
            project_server("pg-2-workers", cores=two.server, log_dir=logs, env=env, workers=2)
        )
        account = sign_up(single.base_url)
        _check_same_answer([single, double], account)
        subjects = [
            Subject(single, PROFILE_PATH, account.headers, one.loadgen),
            Subject(double, PROFILE_PATH, account.headers, two.loadgen),
        ]
        runs = interleave(subjects, options.load, options.rounds, options.progress)
    outcome.apps = {name: summarise(results) for name, results in runs.items()}
    speedup = float(outcome.apps["pg-2-workers"]["rps"]) / float(outcome.apps["pg-1-worker"]["rps"])
    outcome.ratios = {"2 workers/1 worker": speedup}
    # PostgreSQL's own processes count as 'other CPU' here, so that column cannot flag noise.
    outcome.notes.append(
        "'other CPU' includes PostgreSQL's own work; the lines 'the machine is still N% busy' "
        "before a run are the sign of noise here"
    )
    outcome.targets = [at_least("2 workers vs 1 worker (req/s)", speedup, MIN_TWO_WORKER_SPEEDUP)]
    if two.server is None:
        outcome.notes.append(_shared_cores_note(outcome.apps))
    return [outcome]


def profile_project(options: Options) -> list[Outcome]:
    """Sample the project's server (memory store) with py-spy under the protected GET load."""
    return [_profile(options, "profile", {})]


def profile_pg(options: Options) -> list[Outcome]:
    """Sample the project's server on PostgreSQL with py-spy under the protected GET load."""
    with fresh_schema() as storage_url:
        if storage_url is None:
            return [Outcome("profile-pg", "py-spy on PostgreSQL", notes=[unreachable_note()])]
        return [_profile(options, "profile-pg", {"STORAGE_URL": storage_url})]


def _profile(options: Options, name: str, env: dict[str, str]) -> Outcome:
    cores = plan_cores(server_cores=1)
    storage = env.get("STORAGE_URL", "memory://")
    outcome = Outcome(
        name,
        f"py-spy on the project ({storage}) under GET {PROFILE_PATH}, "
        f"{options.load.connections} connections",
        notes=[cores.note],
    )
    collapsed = options.output_dir / f"{name}.txt"
    logs = options.output_dir / "logs"
    with project_server(name, cores=cores.server, log_dir=logs, env=env) as app:
        account = sign_up(app.base_url)
        recorder = start_recording(
            app.pid, options.load.warmup + options.load.duration, collapsed, cores.loadgen
        )
        time.sleep(1)  # py-spy attaches before the load starts
        result = drive(
            app.base_url + PROFILE_PATH,
            account.headers,
            options.load,
            cores=cores.loadgen,
            server_pid=app.pid,
        )
        recorder_output, _ = recorder.communicate(timeout=60)
    options.progress(f"profiled       {describe(result)}")
    if recorder.returncode != 0:
        raise RuntimeError(f"py-spy failed:\n{recorder_output.strip()}")
    outcome.apps = {"project (profiled)": summarise([result])}
    spots = hotspots(collapsed)
    cpu_pct = result.server_cpu_pct or 100.0
    spots["cpu_us_per_request"] = 1e6 * cpu_pct / 100 / result.rps if result.rps else None
    outcome.extra = {"hotspots": spots, "collapsed_stacks": str(collapsed)}
    outcome.notes.append(f"collapsed stacks in {collapsed} (py-spy --format raw --function)")
    return outcome


SCENARIOS: dict[str, Callable[[Options], list[Outcome]]] = {
    "protected-get": protected_get,
    "pg-workers": pg_workers,
    "pg-vs-memory": pg_vs_memory,
    # One run reports both: the GETs are measured while the storm goes on.
    "login-storm": login_storm,
    "storm-latency": login_storm,
    "metrics-overhead": metrics_overhead,
    "memory": memory,
    "in-process": in_process,
    "flat-cost": flat_cost,
    # Opt-in: ten minutes and more.
    "soak": soak,
    "profile": profile_project,
    "profile-pg": profile_pg,
}


def _check_same_answer(servers: list[Server], account: Account) -> None:
    # Every app must return the project's very JSON for the token, or the race is unfair.
    for server in servers:
        status, body = get_json(server.base_url + PROFILE_PATH, account.headers)
        if status != 200 or body != account.profile:
            raise RuntimeError(f"{server.name} answered {status} {body}, not the profile")


def _shared_cores_note(apps: dict[str, dict[str, Any]]) -> str:
    machine = 100 * len(os.sched_getaffinity(0))
    two = apps["pg-2-workers"]
    used = [two[key] for key in ("server_cpu_pct", "loadgen_cpu_pct", "other_cpu_pct")]
    if any(value is None for value in used):
        usage = ""
    else:
        server, loadgen, other = used
        usage = (
            f" (with 2 workers: servers {server:.0f}%, load generator {loadgen:.0f}%, "
            f"PostgreSQL and the rest {other:.0f}% of the machine's {machine}%)"
        )
    return (
        f"only {machine // 100} cores: the load generator and PostgreSQL share them with the "
        "workers"
        + usage
        + ", so this machine cannot show the full two-worker gain; run it where nproc ≥ 4"
    )


def _bottleneck_note(starlette: dict[str, Any]) -> str:
    loadgen, server = starlette["loadgen_cpu_pct"], starlette["server_cpu_pct"]
    if loadgen is None or server is None:
        return "load generator CPU use unknown"
    verdict = (
        "the server, not the load generator, is the bottleneck"
        if loadgen < LOADGEN_SATURATED_PCT
        else "the load generator is near a full core and may be the bottleneck"
    )
    return (
        f"on bare Starlette the load generator used {loadgen:.0f}% of its core and the "
        f"server {server:.0f}% of its core: {verdict}"
    )
