"""The bench's readings of /proc."""

from __future__ import annotations

import os
from pathlib import Path

from bench.harness.cpu import tree_rss_bytes


def test_resident_memory_of_this_process_is_read_from_proc() -> None:
    status = Path("/proc/self/status").read_text()
    kib = next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS:"))
    measured = tree_rss_bytes(os.getpid())
    assert 0.5 * kib * 1024 < measured < 2 * kib * 1024
