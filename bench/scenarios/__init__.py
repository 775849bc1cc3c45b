"""The scenarios, one module each, whose `run` starts servers, loads them and judges targets."""

from __future__ import annotations

from collections.abc import Callable

from bench.harness.outcome import Options, Outcome
from bench.scenarios import (
    claims_cost,
    flat_cost,
    growth_flood,
    in_process,
    login_storm,
    memory,
    metrics_overhead,
    pg_vs_memory,
    pg_workers,
    profile,
    protected_get,
    soak,
)

SCENARIOS: dict[str, Callable[[Options], list[Outcome]]] = {
    "protected-get": protected_get.run,
    "pg-workers": pg_workers.run,
    "pg-vs-memory": pg_vs_memory.run,
    # One run reports both: the GETs are measured while the storm goes on.
    "login-storm": login_storm.run,
    "storm-latency": login_storm.run,
    "metrics-overhead": metrics_overhead.run,
    "memory": memory.run,
    "in-process": in_process.run,
    # The protected GET of an older commit's tree beside the current one (--before-ref).
    "claims-cost": claims_cost.run,
    "flat-cost": flat_cost.run,
    "growth-flood": growth_flood.run,
    # Opt-in: ten minutes and more.
    "soak": soak.run,
    "profile": profile.run,
    "profile-pg": profile.run_pg,
}
