"""pg-workers: the protected GET on PostgreSQL with one uvicorn worker and with two."""

from __future__ import annotations

import os
from contextlib import ExitStack
from typing import Any

from bench.harness.cpu import plan_cores
from bench.harness.outcome import Options, Outcome, at_least
from bench.harness.paths import PROFILE_PATH
from bench.harness.postgres import fresh_schema, unreachable_note
from bench.harness.rounds import fixed_get, interleave, summarise
from bench.harness.servers import check_same_answer, project_server, sign_up

# The target from the performance issue.
MIN_TWO_WORKER_SPEEDUP = 1.6


def run(options: Options) -> list[Outcome]:
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
        # Every worker signs with the servers' one fixed key, so either accepts the token.
        env = {"STORAGE_URL": storage_url}
        single = stack.enter_context(
            project_server("pg-1-worker", cores=one.server, log_dir=logs, env=env)
        )
        double = stack.enter_context(
            project_server("pg-2-workers", cores=two.server, log_dir=logs, env=env, workers=2)
        )
        account = sign_up(single.base_url)
        check_same_answer([single, double], account)
        subjects = [
            fixed_get(single, PROFILE_PATH, account.headers, one.loadgen),
            fixed_get(double, PROFILE_PATH, account.headers, two.loadgen),
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
