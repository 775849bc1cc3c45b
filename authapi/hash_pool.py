"""The bounded pool that password hashing runs in, off the event loop, shedding what cannot start.

Each hash holds a thread (and, for Argon2id, ARGON2_MEMORY_KIB) while it runs, so the pool's
size bounds both the CPU hashing takes from the event loop and the memory it holds. A hash
that cannot start within HASH_QUEUE_TIMEOUT_SECONDS is refused with 503: at once, when the
queue ahead of it already says so, otherwise once it has waited that long.
"""

from __future__ import annotations

import asyncio
import math
import os
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from authapi.errors import Overloaded

T = TypeVar("T")
# How much each finished hash moves the measured time: the last dozen or so count.
SMOOTHING = 0.2


def usable_cpus() -> int:
    """Count the CPUs this process may run on (its affinity), not every CPU of the machine.

    A container's CPU quota (cgroups) is invisible to both calls: set HASH_CONCURRENCY there.
    """
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS and Windows have no affinity call
        return os.cpu_count() or 1


class HashPool:
    """Run blocking hash work in at most `threads` threads, shedding work that cannot start."""

    def __init__(
        self,
        threads: int | None = None,
        queue_timeout: float = 5.0,
        on_wait: Callable[[int, float | None], None] | None = None,
        *,
        seconds_per_hash: float | None = None,
        clock: Callable[[], float] = time.perf_counter,
    ) -> None:
        self.threads = threads or usable_cpus()
        self.queue_timeout = queue_timeout
        self.waiting = 0
        # The measured time one hash holds its thread (a moving average); None until one ran.
        self.seconds_per_hash = seconds_per_hash
        self._clock = clock
        # Called with (hashes waiting, seconds waited or None when one joins the queue).
        self._on_wait = on_wait or (lambda depth, seconds: None)
        self._pool = ThreadPoolExecutor(max_workers=self.threads, thread_name_prefix="hash")
        self._slots: asyncio.Semaphore | None = None
        self._slots_loop: asyncio.AbstractEventLoop | None = None

    def expected_wait(self) -> float | None:
        """Estimate how long a hash asked for now would wait for a thread, all being busy."""
        if self.seconds_per_hash is None:
            return None
        # The threads finish `threads` hashes per hash time; this one needs every hash
        # already waiting, and one more, to finish before it gets a thread.
        return (self.waiting + 1) * self.seconds_per_hash / self.threads

    async def run(self, fn: Callable[..., T], *args: str | None) -> T:
        """Run `fn(*args)` in a thread once one is free, or raise `Overloaded`."""
        loop = asyncio.get_running_loop()
        slots = self._slots_for(loop)
        if slots.locked():
            self._shed_if_hopeless()
        started = self._clock()
        self.waiting += 1
        self._on_wait(self.waiting, None)
        try:
            # A hash that cannot start in time is refused, not queued forever.
            await asyncio.wait_for(slots.acquire(), self.queue_timeout)
        except TimeoutError:
            self.waiting -= 1
            raise Overloaded(self._retry_after()) from None
        except BaseException:
            self.waiting -= 1
            raise
        self.waiting -= 1
        self._on_wait(self.waiting, self._clock() - started)
        try:
            return await loop.run_in_executor(self._pool, self._timed, fn, *args)
        finally:
            slots.release()

    def close(self) -> None:
        """Stop the worker threads."""
        self._pool.shutdown(wait=False, cancel_futures=True)

    def _shed_if_hopeless(self) -> None:
        # Waiting out the timeout only to be refused would hold the client for nothing, and
        # every client refused that way would come back at the same instant. The answer
        # says when the queue ahead of this hash will have drained.
        wait = self.expected_wait()
        if wait is not None and wait > self.queue_timeout:
            raise Overloaded(self._retry_after())

    def _retry_after(self) -> int:
        # The seconds until the hashes queued now have had their threads (1 before any
        # hash was measured).
        wait = self.expected_wait()
        return 1 if wait is None else math.ceil(wait)

    def _timed(self, fn: Callable[..., T], *args: str | None) -> T:
        # Runs in a pool thread: the time the hash held it, waits for the CPU included,
        # since those are what the queue behind it waits through.
        started = self._clock()
        try:
            return fn(*args)
        finally:
            self.observe(self._clock() - started)

    def observe(self, seconds: float) -> None:
        """Fold the time one hash held its thread into the measured hash time."""
        # From several threads at once: a lost update only delays the average a little.
        known = self.seconds_per_hash
        self.seconds_per_hash = seconds if known is None else known + SMOOTHING * (seconds - known)

    def _slots_for(self, loop: asyncio.AbstractEventLoop) -> asyncio.Semaphore:
        # One slot per thread: waiting happens here, where it can time out, not in the pool.
        if self._slots is None or self._slots_loop is not loop:
            self._slots, self._slots_loop = asyncio.Semaphore(self.threads), loop
        return self._slots
