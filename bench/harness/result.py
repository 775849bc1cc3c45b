"""What one load run measured, whichever tool measured it."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from bench.harness.cpu import CpuUse


@dataclass(frozen=True)
class LoadResult:
    """What one load run measured; latencies in milliseconds, CPU in percent of one core."""

    tool: str
    requests: int
    seconds: float
    rps: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    non_200: int
    socket_errors: int
    timeouts: int
    loadgen_cpu_pct: float | None
    server_cpu_pct: float | None
    # Busy CPU on the whole machine beyond the server and the load generator: noise.
    other_cpu_pct: float | None = None

    @property
    def errors(self) -> int:
        """Count every request that did not end in a 200."""
        return self.non_200 + self.socket_errors + self.timeouts

    def to_json(self) -> dict[str, object]:
        """Return the result as JSON-ready data, the error total included."""
        return {**asdict(self), "errors": self.errors}


def from_latencies(
    latencies: list[float],
    seconds: float,
    *,
    non_200: int,
    socket_errors: int,
    timeouts: int,
    cpu: CpuUse,
) -> LoadResult:
    """Turn the Python load generator's latencies in seconds into a `LoadResult`."""
    ordered = sorted(latencies)
    return LoadResult(
        tool="python",
        requests=len(ordered),
        seconds=round(seconds, 3),
        rps=len(ordered) / seconds,
        p50_ms=percentile_ms(ordered, 0.50),
        p90_ms=percentile_ms(ordered, 0.90),
        p99_ms=percentile_ms(ordered, 0.99),
        max_ms=1000 * ordered[-1] if ordered else float("nan"),
        non_200=non_200,
        socket_errors=socket_errors,
        timeouts=timeouts,
        loadgen_cpu_pct=cpu.load,
        server_cpu_pct=cpu.server,
        other_cpu_pct=cpu.other,
    )


def percentile_ms(ordered: list[float], fraction: float) -> float:
    """Return the nearest-rank percentile of sorted latencies in seconds, in milliseconds."""
    if not ordered:
        return float("nan")
    return 1000 * ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]
