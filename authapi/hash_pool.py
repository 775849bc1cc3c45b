"""The bounded pool that password hashing runs in, off the event loop, shedding what cannot start.

Each hash holds a thread (and, for Argon2id, ARGON2_MEMORY_KIB) while it runs, so the pool's
size bounds both the CPU hashing takes from the event loop and the memory it holds. A hash
that cannot start within HASH_QUEUE_TIMEOUT_SECONDS is refused with 503: at once, when the
queue ahead of it already says so, otherwise once it has waited that long.

A thread that finishes a hash takes the next waiting one itself. Handing the thread back
through the event loop (a semaphore and an executor) left it idle while the loop woke the
next waiter, and cost the loop a task, a timer and two futures per login, on the very cores
the hashes need.
"""

from __future__ import annotations

import asyncio
import math
import os
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any, Generic, TypeVar

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


class _Job(Generic[T]):
    """One hash asked for: what to run, where its caller waits, and whether a thread has it."""

    __slots__ = ("args", "fn", "future", "loop", "queued_at", "started", "timer")

    def __init__(
        self,
        fn: Callable[..., T],
        args: tuple[str | None, ...],
        loop: asyncio.AbstractEventLoop,
        queued_at: float,
    ) -> None:
        self.fn, self.args, self.loop, self.queued_at = fn, args, loop, queued_at
        self.future: asyncio.Future[T] = loop.create_future()
        self.started = False
        self.timer: asyncio.TimerHandle | None = None


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
        # Hashes admitted that no thread has taken yet.
        self.waiting = 0
        # The measured time one hash holds its thread (a moving average); None until one ran.
        self.seconds_per_hash = seconds_per_hash
        self._clock = clock
        # Called with (hashes waiting, seconds waited or None when one joins the queue).
        self._on_wait = on_wait or (lambda depth, seconds: None)
        # Threads not holding a hash; the event loop admits into them, the threads free them.
        self._free = self.threads
        self._lock = threading.Lock()
        self._handed = threading.Condition(self._lock)
        # Jobs given a free thread, and jobs waiting for one to finish, oldest first.
        self._ready: deque[_Job[Any]] = deque()
        self._queue: deque[_Job[Any]] = deque()
        self._workers: list[threading.Thread] = []
        self._closed = False

    def expected_wait(self) -> float | None:
        """Estimate how long a hash asked for now would wait for a thread, all being busy."""
        if self.seconds_per_hash is None:
            return None
        # The threads finish `threads` hashes per hash time; this one needs every hash
        # already waiting, and one more, to finish before it gets a thread.
        return (self.waiting + 1) * self.seconds_per_hash / self.threads

    async def run(self, fn: Callable[..., T], *args: str | None) -> T:
        """Run `fn(*args)` in a thread once one is free, or raise `Overloaded`."""
        job = _Job(fn, args, asyncio.get_running_loop(), self._clock())
        with self._lock:
            if self._closed:
                raise RuntimeError("the hash pool is closed")
            if self._free:
                self._free -= 1
                job.started = True
                self._ready.append(job)
                self._handed.notify()
            else:
                self._shed_if_hopeless()
                self._queue.append(job)
                self.waiting += 1
        if job.started:
            self._start_workers()
            self._on_wait(self.waiting, 0.0)
        else:
            self._on_wait(self.waiting, None)
            # A hash that cannot start in time is refused, not queued forever.
            job.timer = job.loop.call_later(self.queue_timeout, self._expire, job)
        try:
            return await job.future
        except asyncio.CancelledError:
            self._withdraw(job)
            raise

    def close(self) -> None:
        """Stop the worker threads; hashes not yet started are cancelled."""
        with self._lock:
            self._closed = True
            abandoned = [*self._ready, *self._queue]
            self._ready.clear()
            self._queue.clear()
            self.waiting = 0
            self._handed.notify_all()
        for job in abandoned:
            _call_soon(job, _cancel, job)

    def observe(self, seconds: float) -> None:
        """Fold the time one hash held its thread into the measured hash time."""
        # From several threads at once: a lost update only delays the average a little.
        known = self.seconds_per_hash
        self.seconds_per_hash = seconds if known is None else known + SMOOTHING * (seconds - known)

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

    def _expire(self, job: _Job[Any]) -> None:
        # On the event loop, once the job has waited `queue_timeout`: unless a thread took
        # it meanwhile, it leaves the queue and its caller is told what the queue needs.
        with self._lock:
            if job.started or job not in self._queue:
                return
            self._queue.remove(job)
            self.waiting -= 1
        if not job.future.done():
            job.future.set_exception(Overloaded(self._retry_after()))

    def _withdraw(self, job: _Job[Any]) -> None:
        # The caller went away (its request was cancelled): a hash no thread has taken is
        # dropped; one that runs finishes and its answer is discarded.
        with self._lock:
            if job.started or job not in self._queue:
                return
            self._queue.remove(job)
            self.waiting -= 1
        if job.timer is not None:
            job.timer.cancel()

    def _start_workers(self) -> None:
        # Threads start with the first hashes that need them, as an executor's do.
        if len(self._workers) < self.threads:
            with self._lock:
                while len(self._workers) < min(self.threads, self.threads - self._free):
                    worker = threading.Thread(
                        target=self._serve, name=f"hash_{len(self._workers)}", daemon=True
                    )
                    self._workers.append(worker)
                    worker.start()

    def _serve(self) -> None:
        # Each pool thread: take a job handed to it, run it, then take the next waiting
        # one itself, so that the thread hashes on while the loop delivers the answer.
        job = self._take_handed()
        while job is not None:
            outcome = self._timed(job)
            with self._lock:
                following = self._queue.popleft() if self._queue else None
                if following is not None:
                    following.started = True
                    self.waiting -= 1
                else:
                    self._free += 1
            _call_soon(job, self._settle, job, outcome, following)
            job = following if following is not None else self._take_handed()

    def _take_handed(self) -> _Job[Any] | None:
        with self._lock:
            while not self._ready and not self._closed:
                self._handed.wait()
            return self._ready.popleft() if self._ready else None

    def _timed(self, job: _Job[Any]) -> tuple[bool, Any]:
        # The time the hash held its thread, waits for the CPU included, since those are
        # what the queue behind it waits through.
        started = self._clock()
        try:
            return True, job.fn(*job.args)
        except BaseException as error:  # handed to the caller, who raises it
            return False, error
        finally:
            self.observe(self._clock() - started)

    def _settle(
        self, job: _Job[Any], outcome: tuple[bool, Any], following: _Job[Any] | None
    ) -> None:
        # On the job's event loop: answer its caller, and note that the next one started.
        succeeded, value = outcome
        if not job.future.done():
            if succeeded:
                job.future.set_result(value)
            else:
                job.future.set_exception(value)
        if following is not None:
            if following.timer is not None:
                following.timer.cancel()
            self._on_wait(self.waiting, self._clock() - following.queued_at)


def _call_soon(job: _Job[Any], callback: Callable[..., None], *args: Any) -> None:
    # A loop that has closed meanwhile has nobody left to answer.
    try:
        job.loop.call_soon_threadsafe(callback, *args)
    except RuntimeError:
        pass


def _cancel(job: _Job[Any]) -> None:
    if job.timer is not None:
        job.timer.cancel()
    job.future.cancel()
