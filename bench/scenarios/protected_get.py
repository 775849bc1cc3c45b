"""protected-get: the project's protected GET against bare Starlette and FastAPI."""

from __future__ import annotations

from contextlib import ExitStack
from typing import Any

from bench.harness.cpu import plan_cores
from bench.harness.outcome import Options, Outcome, Target, at_least
from bench.harness.paths import PROFILE_PATH
from bench.harness.rounds import fixed_get, interleave, noise_notes, summarise
from bench.harness.servers import baseline_server, check_same_answer, project_server, sign_up

# Targets from the performance issue.
MIN_RATIO_TO_FASTAPI = 1.0
MIN_RATIO_TO_STARLETTE = 0.5
MAX_P99_MS = 50.0
# Past this share of a core the Python load generator may be what limits throughput.
LOADGEN_SATURATED_PCT = 90.0


def run(options: Options) -> list[Outcome]:
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
                    baseline_server(name, account, cores=cores.server, log_dir=logs)
                )
            )
        check_same_answer(servers, account)
        subjects = [fixed_get(s, PROFILE_PATH, account.headers, cores.loadgen) for s in servers]
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
