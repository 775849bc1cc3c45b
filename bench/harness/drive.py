"""Load one running app with wrk when it is installed, else with bench.harness.loadgen, pinned."""

from __future__ import annotations

import argparse
import dataclasses
import json
import subprocess
import sys
from dataclasses import dataclass

from bench import REPO_ROOT
from bench.harness.cpu import Cores, CpuMark, children_cpu_seconds, inherited_affinity
from bench.harness.result import LoadResult
from bench.harness.wrk import parse_wrk, run_wrk, wrk_path


@dataclass(frozen=True)
class Load:
    """The shape of one measurement: measured and warm-up seconds, connections, timeout."""

    duration: float = 8.0
    warmup: float = 2.0
    connections: int = 100
    timeout: float = 2.0


def load_tool() -> str:
    """Name the load generator this machine will use."""
    return "wrk" if wrk_path() else "python"


def drive(
    url: str, headers: dict[str, str], load: Load, *, cores: Cores, server_pid: int
) -> LoadResult:
    """Warm up, then measure `url`; the load generator runs on `cores`."""
    with inherited_affinity(cores):
        if wrk_path():
            return _drive_wrk(url, headers, load, server_pid)
        return _drive_python(url, headers, load, server_pid)


def _drive_python(url: str, headers: dict[str, str], load: Load, server_pid: int) -> LoadResult:
    extra: list[str] = []
    for name, value in headers.items():
        extra += ["--header", f"{name}: {value}"]
    return run_load_module("bench.harness.loadgen", [url, *extra], load, server_pid)


def run_load_module(
    module: str, arguments: list[str], load: Load, server_pid: int, setup_seconds: float = 0.0
) -> LoadResult:
    """Run one of the bench's load clients (`python -m module`) and read its JSON result."""
    command = [sys.executable, "-m", module, *arguments]
    command += ["--duration", str(load.duration), "--warmup", str(load.warmup)]
    command += ["--connections", str(load.connections), "--timeout", str(load.timeout)]
    command += ["--watch-pid", str(server_pid)]
    completed = subprocess.run(
        command,
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=load.warmup + load.duration + 60 + setup_seconds,
    )
    if completed.returncode != 0:
        raise RuntimeError(f"{module} failed:\n{completed.stderr.strip()}")
    data = json.loads(completed.stdout)
    data.pop("errors")
    return LoadResult(**data)


def client_arguments(prog: str, description: str | None) -> argparse.ArgumentParser:
    """Start a load client's command line: the URL and the options `run_load_module` passes."""
    default = Load()
    parser = argparse.ArgumentParser(prog=f"python -m {prog}", description=description)
    parser.add_argument("url")
    parser.add_argument("--duration", type=float, default=default.duration, help="measured s")
    parser.add_argument("--warmup", type=float, default=default.warmup, help="s before measuring")
    parser.add_argument("--connections", type=int, default=default.connections)
    parser.add_argument("--timeout", type=float, default=default.timeout, help="s; later is error")
    parser.add_argument("--watch-pid", type=int, help="report this process tree's CPU use")
    return parser


def load_of(args: argparse.Namespace) -> Load:
    """Read the load's shape from a load client's parsed command line."""
    return Load(args.duration, args.warmup, args.connections, args.timeout)


def print_result(result: LoadResult) -> int:
    """Print a load client's result as one JSON object, for `run_load_module` to read."""
    json.dump(result.to_json(), sys.stdout)
    sys.stdout.write("\n")
    return 0


def _drive_wrk(url: str, headers: dict[str, str], load: Load, server_pid: int) -> LoadResult:
    if load.warmup > 0:
        run_wrk(
            url, headers, duration=load.warmup, connections=load.connections, timeout=load.timeout
        )
    before = CpuMark.take(server_pid, load_seconds=children_cpu_seconds)
    report = run_wrk(
        url, headers, duration=load.duration, connections=load.connections, timeout=load.timeout
    )
    cpu = before.until(CpuMark.take(server_pid, load_seconds=children_cpu_seconds))
    return dataclasses.replace(
        parse_wrk(report),
        loadgen_cpu_pct=cpu.load,
        server_cpu_pct=cpu.server,
        other_cpu_pct=cpu.other,
    )
