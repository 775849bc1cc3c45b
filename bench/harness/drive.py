"""Load one running app with wrk when it is installed, else with bench.harness.loadgen, pinned."""

from __future__ import annotations

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
    """The shape of one measurement: connections, warm-up and measured seconds."""

    duration: float
    warmup: float
    connections: int
    timeout: float


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
