"""pg-vs-memory: the same server on PostgreSQL and on the memory store, endpoint by endpoint.

Two project servers, one on `memory://` and one on PostgreSQL (a fresh schema), as
deployed and pinned to the same core, take turns under the same load: memory then
PostgreSQL for each endpoint, endpoint after endpoint, for `--rounds` rounds. The GET and
the task list are fixed requests (`bench.harness.drive`, wrk or `bench.harness.loadgen`); refresh,
logout and task create depend on earlier answers (`bench.harness.chains`). Each ratio is
PostgreSQL's median requests per second over memory's.

Then the login storm (`bench.scenarios.login_storm`) runs once more on PostgreSQL at cost
12, against the bcrypt ceiling measured in the same run.
"""

from __future__ import annotations

import dataclasses
from contextlib import ExitStack

from bench.harness.chains import SESSIONS
from bench.harness.cpu import Cores, inherited_affinity, plan_cores
from bench.harness.drive import Load, run_load_module
from bench.harness.outcome import Options, Outcome, Target, at_least
from bench.harness.paths import PROFILE_PATH, TASKS_PATH
from bench.harness.postgres import fresh_schema, unreachable_note
from bench.harness.result import LoadResult
from bench.harness.rounds import Subject, fixed_get, interleave, noise_notes, summarise
from bench.harness.servers import Account, Server, post_json, project_server, sign_up
from bench.scenarios import login_storm

# A full first page (the default limit), so that the list returns real rows.
PAGE_TASKS = 20
# Setting up refresh, logout and task-create users logs in many times from one address.
SERVER_ENV = {
    "AUTH_RATE_LIMIT_PER_MINUTE": "0",
    "REGISTRATIONS_PER_ADDRESS_PER_DAY": "0",
    "TASK_WRITES_PER_MINUTE": "0",
    "LOGIN_MAX_FAILURES": "0",
}
STORES = ("memory", "postgresql")
# Targets from the PostgreSQL issue: PostgreSQL's req/s at least this share of memory's.
MIN_RATIOS = {
    "protected GET": 0.6,
    "refresh": 0.5,
    "logout": 0.5,
    "task list": 0.5,
    "task create": 0.5,
}
MAX_P99_MS = 50.0
MIN_SHARE_OF_CEILING = 90.0
# The fixed requests (wrk or the closed loop), and the chained flows of bench.harness.chains.
FIXED = {"protected GET": PROFILE_PATH, "task list": TASKS_PATH}
CHAINED = {"refresh": "refresh", "logout": "logout", "task create": "task-create"}
# Setting up a logout run logs in a session per request it will send.
CHAIN_SETUP_SECONDS = 240.0


def run(options: Options) -> list[Outcome]:
    """Measure each hot endpoint on PostgreSQL against the memory store, and login at cost 12."""
    cores = plan_cores(server_cores=1)
    outcome = Outcome(
        "pg-vs-memory",
        f"PostgreSQL vs memory store, 1 uvicorn worker each, {options.load.connections} "
        "connections: GET profile, refresh, logout, task list, task create",
        notes=[cores.note],
    )
    logs = options.output_dir / "logs"
    with ExitStack() as stack:
        storage_url = stack.enter_context(fresh_schema())
        if storage_url is None:
            outcome.notes.append(unreachable_note())
            return [outcome]
        servers = {
            "memory": stack.enter_context(
                project_server("pgvm-memory", cores=cores.server, log_dir=logs, env=SERVER_ENV)
            ),
            "postgresql": stack.enter_context(
                project_server(
                    "pgvm-postgresql",
                    cores=cores.server,
                    log_dir=logs,
                    env={**SERVER_ENV, "STORAGE_URL": storage_url},
                )
            ),
        }
        accounts = {store: _account_with_tasks(server) for store, server in servers.items()}
        subjects = [
            _subject(operation, store, servers[store], accounts[store], cores.loadgen)
            for operation in MIN_RATIOS
            for store in STORES
        ]
        runs = interleave(subjects, options.load, options.rounds, options.progress)
    outcome.apps = {name: summarise(results) for name, results in runs.items()}
    for operation, threshold in MIN_RATIOS.items():
        ratio = _rps(outcome, "postgresql", operation) / _rps(outcome, "memory", operation)
        outcome.ratios[f"pg/memory {operation}"] = ratio
        outcome.targets.append(at_least(f"PostgreSQL vs memory, {operation}", ratio, threshold))
    p99 = float(outcome.apps["postgresql protected GET"]["p99_ms"])
    outcome.targets.append(
        Target(
            f"PostgreSQL protected GET p99 at {options.load.connections} connections "
            f"≤ {MAX_P99_MS:g} ms",
            p99,
            "ms",
            p99 <= MAX_P99_MS,
        )
    )
    outcome.notes += [
        "both servers as deployed: JSON access log at INFO, /metrics on, the session "
        "revocation check on every authenticated request; AUTH_RATE_LIMIT_PER_MINUTE=0 and "
        "LOGIN_MAX_FAILURES=0 only so that the setup's many logins from one address pass",
        "logout runs on a budget: each connection ends the sessions it logged in before the "
        f"clock started (bench.harness.chains, {SESSIONS} per connection); the window opens "
        "once a fifth are done and closes when the first connection runs out",
        "'other CPU' includes PostgreSQL's own work",
        *noise_notes(runs),
    ]
    return [outcome, *_login_on_postgres(options)]


def _subject(operation: str, store: str, server: Server, account: Account, cores: Cores) -> Subject:
    name = f"{store} {operation}"
    if operation in FIXED:
        return fixed_get(server, FIXED[operation], account.headers, cores, name)
    flow = CHAINED[operation]
    return Subject(name, lambda load: _drive_chain(flow, server, load, cores))


def _drive_chain(flow: str, server: Server, load: Load, cores: Cores) -> LoadResult:
    with inherited_affinity(cores):
        return run_load_module(
            "bench.harness.chains",
            [server.base_url, "--flow", flow],
            load,
            server.pid,
            setup_seconds=CHAIN_SETUP_SECONDS,
        )


def _account_with_tasks(server: Server) -> Account:
    account = sign_up(server.base_url)
    for number in range(PAGE_TASKS):
        post_json(server.base_url + TASKS_PATH, {"title": f"task {number}"}, account.headers)
    return account


def _rps(outcome: Outcome, store: str, operation: str) -> float:
    return float(outcome.apps[f"{store} {operation}"]["rps"])


def _login_on_postgres(options: Options) -> list[Outcome]:
    """Run the login storm on PostgreSQL and judge it against the same run's bcrypt ceiling."""
    with fresh_schema() as storage_url:
        if storage_url is None:
            return []
        storm, latency = login_storm.run(options, storage_url=storage_url)
    renamed = []
    for outcome, name in ((storm, "pg-login-storm"), (latency, "pg-storm-latency")):
        outcome.name = name
        outcome.title += " (PostgreSQL)"
        outcome.charts = [dataclasses.replace(c, title=name) for c in outcome.charts]
        renamed.append(outcome)
    share = storm.targets[0]
    storm.targets[0] = Target(
        f"logins/s on PostgreSQL at cost 12 vs the bcrypt ceiling ≥ {MIN_SHARE_OF_CEILING:g}%",
        share.value,
        share.unit,
        share.value >= MIN_SHARE_OF_CEILING,
    )
    return renamed
