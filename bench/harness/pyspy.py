"""Sample a server with py-spy while it is under load, and rank where its time goes."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

from bench.harness.cpu import Cores, inherited_affinity

# py-spy pauses the server for each sample, so that every stack is whole; that slows it a
# little, which the report shows as the profiled run's throughput.
SAMPLE_RATE = 100
ROOT_SHARE = 0.99


def py_spy_path() -> str | None:
    """Return the py-spy executable beside this interpreter or on PATH, or None."""
    beside = Path(sys.executable).with_name("py-spy")
    return str(beside) if beside.exists() else shutil.which("py-spy")


def start_recording(pid: int, seconds: float, output: Path, cores: Cores) -> subprocess.Popen[str]:
    """Start py-spy sampling `pid`, by function, into collapsed stacks at `output`."""
    executable = py_spy_path()
    if executable is None:
        raise RuntimeError("py-spy is not installed: pip install -e '.[bench]' (make bench does)")
    output.parent.mkdir(parents=True, exist_ok=True)
    command = [
        executable,
        "record",
        "--pid",
        str(pid),
        "--duration",
        str(max(1, round(seconds))),
        "--rate",
        str(SAMPLE_RATE),
        "--format",
        "raw",
        "--function",
        "--threads",
        "--output",
        str(output),
    ]
    with inherited_affinity(cores):
        return subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )


def hotspots(collapsed: Path, top: int = 20) -> dict[str, object]:
    """Rank the event loop's functions by self and inclusive share, and packages by self share.

    Samples of other threads (the bcrypt pool) are counted apart: py-spy cannot always
    tell that a pool thread waiting for work is idle while the process is paused.
    """
    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    packages: Counter[str] = Counter()
    owners: Counter[str] = Counter()
    other_threads: Counter[str] = Counter()
    total = 0
    for line in collapsed.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        thread, *frames = stack.split(";")
        if not thread.endswith(": MainThread") or not frames:
            other_threads[frames[-1] if frames else thread] += count
            continue
        total += count
        own[frames[-1]] += count
        owners[_innermost_non_stdlib(frames)] += count
        packages[package_of(frames[-1])] += count
        for frame in set(frames):
            inclusive[frame] += count

    def ranked(counter: Counter[str], limit: int) -> list[tuple[str, float]]:
        return [(name, 100 * count / total) for name, count in counter.most_common(limit)]

    # Frames on every stack (the server's main loop) say nothing about a request.
    for frame, count in list(inclusive.items()):
        if count >= total * ROOT_SHARE:
            del inclusive[frame]

    if total == 0:
        return {"samples": 0, "self": [], "inclusive": [], "packages": []}
    return {
        "samples": total,
        "other_thread_samples": other_threads.total(),
        "other_thread_leaves": other_threads.most_common(5),
        "self": ranked(own, top),
        "owner": ranked(owners, top),
        "inclusive": ranked(inclusive, top + 15),
        "packages": ranked(packages, 12),
    }


def _innermost_non_stdlib(frames: list[str]) -> str:
    for frame in reversed(frames):
        package = package_of(frame)
        if package not in sys.stdlib_module_names and not package.startswith("<"):
            return frame
    return frames[-1]


def package_of(frame: str) -> str:
    """Name the top-level package or module a py-spy frame `func (path/file.py:line)` is in."""
    location = frame.rpartition(" (")[2].rstrip(")").rpartition(":")[0]
    if "site-packages/" in location:
        location = location.rpartition("site-packages/")[2]
    first = location.lstrip("/").split("/", 1)[0]
    return first.removesuffix(".py") or "?"
