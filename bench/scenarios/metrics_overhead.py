"""What enabling Prometheus metrics costs the protected GET, measured two ways."""

from __future__ import annotations

import dataclasses
import statistics
import time
from contextlib import ExitStack
from typing import Any

from authapi.web.metrics import Metrics
from bench.harness.cpu import plan_cores
from bench.harness.outcome import Measure, Options, Outcome, at_most
from bench.harness.paths import PROFILE_PATH
from bench.harness.rounds import fixed_get, interleave, noise_notes, summarise
from bench.harness.servers import project_server, sign_up

# The target from the performance issue.
MAX_METRICS_COST_PCT = 5.0


def run(options: Options) -> list[Outcome]:
    """Compare the protected GET with METRICS_ENABLED=true and false, interleaved."""
    cores = plan_cores(server_cores=1)
    # A 5 % difference is smaller than the drift of a shared machine over a minute: twice
    # the rounds at half the length pair each run with its neighbour at the same cost.
    rounds = 2 * options.rounds
    load = dataclasses.replace(options.load, duration=options.load.duration / 2)
    outcome = Outcome(
        "metrics-overhead",
        f"GET {PROFILE_PATH}, METRICS_ENABLED true vs false, 1 worker, memory store, "
        f"{load.connections} connections, {rounds} rounds of {load.duration:g} s",
        notes=[cores.note],
    )
    logs = options.output_dir / "logs"
    with ExitStack() as stack:
        servers = [
            stack.enter_context(
                project_server(
                    name, cores=cores.server, log_dir=logs, env={"METRICS_ENABLED": enabled}
                )
            )
            for name, enabled in (("metrics-on", "true"), ("metrics-off", "false"))
        ]
        # Both servers sign with TEST_ENV's key but keep sessions apart: one account each.
        subjects = [
            fixed_get(server, PROFILE_PATH, sign_up(server.base_url).headers, cores.loadgen)
            for server in servers
        ]
        runs = interleave(subjects, load, rounds, options.progress)
    outcome.apps = {name: summarise(results) for name, results in runs.items()}
    on, off = (float(outcome.apps[name]["rps"]) for name in ("metrics-on", "metrics-off"))
    outcome.ratios = {"metrics on/off": on / off}
    paired = [100 * (1 - a.rps / b.rps) for a, b in zip(*runs.values(), strict=True)]
    cost = statistics.median(paired)
    outcome.measures = [
        Measure("cost from the medians of all rounds", 100 * (1 - on / off), "%"),
        Measure("cost, median of the rounds' pairs", cost, "%"),
        *_expected_metrics_cost(outcome.apps["metrics-off"]),
    ]
    outcome.notes += [
        "cost by round (on vs off, back to back): "
        + ", ".join(f"{value:+.1f}%" for value in paired),
        "the target judges the median of the pairs: each pair ran seconds apart, so drift "
        "on the machine cancels out; when the pairs scatter by more than 5 %, the in-process "
        "estimate is the steadier figure",
        *noise_notes(runs),
    ]
    outcome.targets = [
        at_most("throughput lost to METRICS_ENABLED=true", cost, MAX_METRICS_COST_PCT, "%")
    ]
    return [outcome]


def _expected_metrics_cost(off: dict[str, Any]) -> list[Measure]:
    # What a request adds with metrics on, timed in-process where no other load interferes.
    metrics, calls = Metrics(), 100_000
    started = time.perf_counter()
    for _ in range(calls):
        metrics.observe_request("handlers.profile.get_profile", "GET", 200, 0.002)
    per_call = 1e6 * (time.perf_counter() - started) / calls
    if not off["server_cpu_pct"] or not off["rps"]:
        return [Measure("Metrics.observe_request, in-process", per_call, "µs per call")]
    per_request = 1e6 * off["server_cpu_pct"] / 100 / off["rps"]
    return [
        Measure("Metrics.observe_request, in-process", per_call, "µs per call"),
        Measure("server CPU per request, metrics off", per_request, "µs"),
        Measure("  so metrics should cost about", 100 * per_call / per_request, "%"),
    ]
