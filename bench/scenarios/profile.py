"""profile and profile-pg: py-spy samples the project's server under the protected GET load."""

from __future__ import annotations

import time

from bench.harness.cpu import plan_cores
from bench.harness.drive import drive
from bench.harness.outcome import Options, Outcome
from bench.harness.paths import PROFILE_PATH
from bench.harness.postgres import fresh_schema, unreachable_note
from bench.harness.pyspy import hotspots, start_recording
from bench.harness.rounds import describe, summarise
from bench.harness.servers import project_server, sign_up


def run(options: Options) -> list[Outcome]:
    """Sample the project's server (memory store) with py-spy under the protected GET load."""
    return [_profile(options, "profile", {})]


def run_pg(options: Options) -> list[Outcome]:
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
