"""Run wrk, when it is installed, and read its `--latency` report into a `LoadResult`."""

from __future__ import annotations

import re
import shutil
import subprocess

from bench.harness.result import LoadResult

_UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}
_DURATION = r"([\d.]+)(us|ms|s|m)"


def wrk_path() -> str | None:
    """Return the wrk executable, or None when it is not installed."""
    return shutil.which("wrk")


def run_wrk(
    url: str, headers: dict[str, str], *, duration: float, connections: int, timeout: float
) -> str:
    """Run one wrk load on a single thread and return its report."""
    executable = wrk_path()
    if executable is None:
        raise RuntimeError("wrk is not installed")
    command = [
        executable,
        "--threads",
        "1",
        "--connections",
        str(connections),
        "--duration",
        f"{max(1, round(duration))}s",
        "--timeout",
        f"{max(1, round(timeout))}s",
        "--latency",
    ]
    for name, value in headers.items():
        command += ["--header", f"{name}: {value}"]
    completed = subprocess.run(
        [*command, url], capture_output=True, text=True, check=True, timeout=duration + 30
    )
    return completed.stdout


def parse_wrk(report: str) -> LoadResult:
    """Read requests, percentiles and errors from a wrk `--latency` report."""
    totals = re.search(r"(\d+) requests in " + _DURATION, report)
    if totals is None:
        raise ValueError("wrk report has no request total")
    requests = int(totals.group(1))
    seconds = float(totals.group(2)) * _UNITS_MS[totals.group(3)] / 1000
    percentiles = {
        int(match.group(1)): float(match.group(2)) * _UNITS_MS[match.group(3)]
        for match in re.finditer(r"^\s+(\d+)%\s+" + _DURATION, report, re.MULTILINE)
    }
    maximum = re.search(r"Latency\s+\S+\s+\S+\s+" + _DURATION, report)
    sockets = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", report
    )
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", report)
    socket_errors = sum(int(sockets.group(i)) for i in (1, 2, 3)) if sockets else 0
    return LoadResult(
        tool="wrk",
        requests=requests,
        seconds=seconds,
        rps=requests / seconds if seconds else 0.0,
        p50_ms=percentiles.get(50, float("nan")),
        p90_ms=percentiles.get(90, float("nan")),
        p99_ms=percentiles.get(99, float("nan")),
        max_ms=float(maximum.group(1)) * _UNITS_MS[maximum.group(2)] if maximum else float("nan"),
        # wrk counts any status outside 2xx and 3xx; the Python generator counts non-200.
        non_200=int(non_2xx.group(1)) if non_2xx else 0,
        socket_errors=socket_errors,
        timeouts=int(sockets.group(4)) if sockets else 0,
        loadgen_cpu_pct=None,
        server_cpu_pct=None,
    )
