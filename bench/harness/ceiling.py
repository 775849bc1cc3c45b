"""The machine's hashing ceiling: how many password checks per second its cores can do."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from authapi.passwords import PasswordHasher
from bench.harness.cpu import CpuMark


@dataclass(frozen=True)
class Ceiling:
    """Password checks per second, and the CPU other processes took meanwhile (% of a core)."""

    rate: float
    other_cpu_pct: float


def bcrypt_ceiling(rounds: int, seconds: float, threads: int) -> Ceiling:
    """Measure the checks per second `threads` threads complete at cost `rounds` in `seconds`."""
    return check_ceiling(
        PasswordHasher(rounds, max_workers=1, algorithm="bcrypt"), seconds, threads
    )


def check_ceiling(hasher: PasswordHasher, seconds: float, threads: int) -> Ceiling:
    """Measure the checks per second `threads` threads complete with `hasher` in `seconds`.

    It runs the project's own `verify_sync` with the right password (one Argon2id check, or
    the SHA-256 pre-hash and one `bcrypt.checkpw`), in threads of this process, the way the
    server's pool runs a login's check. The threads inherit the caller's CPU affinity.
    """
    password = "a ceiling password"
    stored = hasher.hash_sync(password)
    hasher.close()
    start_line = threading.Barrier(threads + 1)
    rates = [0.0] * threads
    begun = [0.0]

    def check(number: int) -> None:
        start_line.wait()
        start, deadline = begun[0], begun[0] + seconds
        done, last = 0, start
        while last < deadline:
            hasher.verify_sync(password, stored)
            done, last = done + 1, time.perf_counter()
        # Each thread's own rate up to its last check: a check cut by the deadline is no bias.
        rates[number] = done / (last - start)

    workers = [threading.Thread(target=check, args=(n,)) for n in range(threads)]
    for worker in workers:
        worker.start()
    before = CpuMark.take(None)
    begun[0] = before.at
    start_line.wait()
    for worker in workers:
        worker.join()
    # The server idles meanwhile: whatever else is busy competes with the checks.
    return Ceiling(sum(rates), before.until(CpuMark.take(None)).other)
