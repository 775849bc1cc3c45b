"""Pin processes to cores and read their CPU time and resident memory from /proc."""

from __future__ import annotations

import os
import resource
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

Cores = frozenset[int] | None
_TICKS_PER_SECOND = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class CorePlan:
    """Which cores the servers get and which the load generator gets (None: not pinned)."""

    server: Cores
    loadgen: Cores
    note: str


def plan_cores(server_cores: int = 1) -> CorePlan:
    """Give the server the first `server_cores` cores and the load generator the next one."""
    available = sorted(os.sched_getaffinity(0))
    if len(available) < server_cores + 1:
        return CorePlan(
            None,
            None,
            f"{len(available)} core(s) for a {server_cores}-core server: nothing pinned, "
            "the load generator competes with the server for CPU",
        )
    server = frozenset(available[:server_cores])
    loadgen = frozenset(available[server_cores : server_cores + 1])
    return CorePlan(server, loadgen, f"server on cores {_names(server)}, load on {_names(loadgen)}")


@contextmanager
def inherited_affinity(cores: Cores) -> Iterator[None]:
    """Pin this thread to `cores` for the block, so every process it starts inherits them."""
    if cores is None:
        yield
        return
    previous = os.sched_getaffinity(0)
    os.sched_setaffinity(0, cores)
    try:
        yield
    finally:
        os.sched_setaffinity(0, previous)


def tree_cpu_seconds(pid: int) -> float:
    """Return the user plus system CPU seconds of a process and all its descendants."""
    total = 0
    for member in _process_tree(pid):
        try:
            stat = Path(f"/proc/{member}/stat").read_text()
        except OSError:
            continue
        # The command name may hold spaces and parentheses; the fields start after the last ')'.
        fields = stat.rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])
    return total / _TICKS_PER_SECOND


def tree_rss_bytes(pid: int) -> int:
    """Return the resident memory (VmRSS) of a process and all its descendants, in bytes."""
    total = 0
    for member in _process_tree(pid):
        try:
            status = Path(f"/proc/{member}/status").read_text()
        except OSError:
            continue
        for line in status.splitlines():
            if line.startswith("VmRSS:"):
                total += int(line.split()[1]) * 1024
                break
    return total


def machine_busy_seconds() -> float:
    """Return the CPU seconds all cores have spent busy (not idle, not waiting) since boot."""
    fields = [int(value) for value in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle, iowait = fields[3], fields[4]
    # guest time is already counted in user time
    return (sum(fields[:8]) - idle - iowait) / _TICKS_PER_SECOND


def own_cpu_seconds() -> float:
    """Return the user plus system CPU seconds this process has used."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def children_cpu_seconds() -> float:
    """Return the CPU seconds of this process's children that have ended (wrk, say)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


@dataclass(frozen=True)
class CpuUse:
    """CPU use over a window, in percent of one core."""

    # None when no server was watched.
    server: float | None
    load: float
    # Everything else on the machine (the server too, when it was not watched): noise.
    other: float


@dataclass(frozen=True)
class CpuMark:
    """CPU seconds used so far by a server's process tree, by the load, and by the machine."""

    at: float
    server: float | None
    load: float
    machine: float

    @classmethod
    def take(
        cls, server_pid: int | None, load_seconds: Callable[[], float] = own_cpu_seconds
    ) -> CpuMark:
        """Read the counters now; the load is this process unless `load_seconds` says."""
        return cls(
            time.perf_counter(),
            None if server_pid is None else tree_cpu_seconds(server_pid),
            load_seconds(),
            machine_busy_seconds(),
        )

    def until(self, later: CpuMark) -> CpuUse:
        """Return the CPU use from this mark to a later one."""
        seconds = later.at - self.at
        server = None
        if self.server is not None and later.server is not None:
            server = 100 * (later.server - self.server) / seconds
        load = 100 * (later.load - self.load) / seconds
        busy = 100 * (later.machine - self.machine) / seconds
        return CpuUse(server, load, max(0.0, busy - (server or 0.0) - load))


def _process_tree(pid: int) -> list[int]:
    members, pending = [], [pid]
    while pending:
        current = pending.pop()
        members.append(current)
        for children in Path(f"/proc/{current}/task").glob("*/children"):
            try:
                pending.extend(int(child) for child in children.read_text().split())
            except OSError:
                continue
    return members


def _names(cores: frozenset[int]) -> str:
    return ",".join(str(core) for core in sorted(cores))
