"""Load several apps in interleaved rounds (A B C A B C …) and summarise each by medians."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from bench.harness.cpu import Cores, machine_busy_seconds
from bench.harness.drive import Load, drive
from bench.harness.result import LoadResult
from bench.harness.servers import Server

# Busy CPU beyond the server and the load generator (other processes, kernel work) past
# which a run is reported as noisy.
NOISY_OTHER_CPU_PCT = 25.0
# Before each run, wait this long at most for the rest of the machine to go quiet.
QUIET_WAIT_SECONDS = 10.0
QUIET_SAMPLE_SECONDS = 0.5


@dataclass(frozen=True)
class Subject:
    """One thing measured every round: the name the report shows, and one measurement."""

    name: str
    measure: Callable[[Load], LoadResult]


def fixed_get(
    server: Server, path: str, headers: dict[str, str], cores: Cores, name: str = ""
) -> Subject:
    """Load GET `path` on `server` with wrk or the closed loop, the load generator on `cores`."""
    url = server.base_url + path
    return Subject(
        name or server.name,
        lambda load: drive(url, headers, load, cores=cores, server_pid=server.pid),
    )


def interleave(
    subjects: Sequence[Subject], load: Load, rounds: int, progress: Callable[[str], None]
) -> dict[str, list[LoadResult]]:
    """Measure every subject once per round, in the same order each round."""
    runs: dict[str, list[LoadResult]] = {subject.name: [] for subject in subjects}
    width = max(len(name) for name in runs)
    for round_number in range(1, rounds + 1):
        for subject in subjects:
            settle(progress)
            result = subject.measure(load)
            runs[subject.name].append(result)
            progress(f"round {round_number}/{rounds}  {subject.name:<{width}} {describe(result)}")
    return runs


def settle(progress: Callable[[str], None]) -> None:
    """Wait up to QUIET_WAIT_SECONDS for other processes to leave the CPU idle; say if not."""
    deadline = time.monotonic() + QUIET_WAIT_SECONDS
    while True:
        before = machine_busy_seconds()
        time.sleep(QUIET_SAMPLE_SECONDS)
        busy = 100 * (machine_busy_seconds() - before) / QUIET_SAMPLE_SECONDS
        if busy <= NOISY_OTHER_CPU_PCT:
            return
        if time.monotonic() >= deadline:
            progress(f"the machine is still {busy:.0f}% busy with other work; measuring anyway")
            return


def describe(result: LoadResult) -> str:
    """Render one run on one line."""
    cpu = ""
    if result.server_cpu_pct is not None and result.loadgen_cpu_pct is not None:
        cpu = f"  cpu server {result.server_cpu_pct:3.0f}% load {result.loadgen_cpu_pct:3.0f}%"
    if result.other_cpu_pct is not None:
        cpu += f" other {result.other_cpu_pct:3.0f}%"
    return (
        f"{result.rps:9,.0f} req/s  p50 {result.p50_ms:6.2f} ms  p99 {result.p99_ms:6.2f} ms  "
        f"errors {result.errors}{cpu}"
    )


def summarise(runs: Sequence[LoadResult]) -> dict[str, float | int | list[float] | None]:
    """Return the medians across rounds, the error total and each round's throughput."""
    return {
        "rps": statistics.median(run.rps for run in runs),
        "p50_ms": statistics.median(run.p50_ms for run in runs),
        "p99_ms": statistics.median(run.p99_ms for run in runs),
        "errors": sum(run.errors for run in runs),
        "requests": sum(run.requests for run in runs),
        "server_cpu_pct": _median_or_none([run.server_cpu_pct for run in runs]),
        "loadgen_cpu_pct": _median_or_none([run.loadgen_cpu_pct for run in runs]),
        "other_cpu_pct": _median_or_none([run.other_cpu_pct for run in runs]),
        "rps_by_round": [round(run.rps, 1) for run in runs],
    }


def noise_notes(runs: Mapping[str, Sequence[LoadResult]]) -> list[str]:
    """Name the runs during which other processes took a noticeable share of the CPU."""
    notes = []
    for name, results in runs.items():
        for number, result in enumerate(results, start=1):
            other = result.other_cpu_pct
            if other is not None and other > NOISY_OTHER_CPU_PCT:
                notes.append(
                    f"noisy: in round {number} other processes kept {other:.0f}% of a core busy "
                    f"while {name} was measured; its numbers are less trustworthy"
                )
    return notes


def _median_or_none(values: list[float | None]) -> float | None:
    known = [value for value in values if value is not None]
    return statistics.median(known) if known else None
