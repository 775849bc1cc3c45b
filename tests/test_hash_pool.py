"""The hash pool: as many threads as CPUs the process may use, and shedding at admission.

The hash time is injected and the threads are held by events, so nothing here is timed:
which requests are admitted follows from the queue depth alone.
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Iterator

import pytest

from authapi.errors import Overloaded
from authapi.hash_pool import HashPool, usable_cpus
from authapi.passwords import PasswordHasher
from tests.config import settings_for


def test_usable_cpus_are_those_of_the_process_affinity_not_the_machine(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Pinned to one core of eight: two hash threads would share it with the event loop.
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {3}, raising=False)
    monkeypatch.setattr(os, "cpu_count", lambda: 8)
    assert usable_cpus() == 1
    assert HashPool().threads == 1
    assert PasswordHasher.from_settings(settings_for(hash_concurrency=0)).max_workers == 1


def test_without_an_affinity_call_the_cpu_count_is_used(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delattr(os, "sched_getaffinity", raising=False)
    monkeypatch.setattr(os, "cpu_count", lambda: 6)
    assert usable_cpus() == 6


def test_hash_concurrency_overrides_the_count(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1, 2, 3}, raising=False)
    assert PasswordHasher.from_settings(settings_for(hash_concurrency=2)).max_workers == 2


class HeldPool:
    """A pool whose threads each run one hash that finishes only when told to."""

    def __init__(self, threads: int, seconds_per_hash: float | None, queue_timeout: float):
        self.pool = HashPool(
            threads, queue_timeout, seconds_per_hash=seconds_per_hash, clock=lambda: 0.0
        )
        self.release = threading.Event()

    def held(self, _: str | None = None) -> str:
        self.release.wait(timeout=30)
        return "hashed"

    async def start(self, count: int) -> list[asyncio.Task[str]]:
        """Ask for `count` hashes, one after another, and let each reach its place in line."""
        tasks = []
        for _ in range(count):
            tasks.append(asyncio.ensure_future(self.pool.run(self.held, "password")))
            # A few turns of the loop: wait_for takes the slot in a task of its own.
            for _ in range(5):
                await asyncio.sleep(0)
        return tasks

    def close(self) -> None:
        self.release.set()
        self.pool.close()


@pytest.fixture
def pools() -> Iterator[list[HeldPool]]:
    """Release every held thread after the test, whatever it asserted."""
    made: list[HeldPool] = []
    yield made
    for held in made:
        held.close()


def held_pool(
    pools: list[HeldPool], threads: int, seconds_per_hash: float | None, queue_timeout: float
) -> HeldPool:
    held = HeldPool(threads, seconds_per_hash, queue_timeout)
    pools.append(held)
    return held


async def test_a_hash_that_cannot_start_within_the_timeout_is_refused_at_once(
    pools: list[HeldPool],
) -> None:
    # One thread, 0.3 s a hash, 1 s to start: the running hash and three queued behind it
    # (the third starts after 0.9 s) fit; a fourth in the queue would wait 1.2 s.
    held = held_pool(pools, 1, 0.3, 1.0)
    running_and_queued = await held.start(4)
    assert held.pool.waiting == 3
    with pytest.raises(Overloaded) as shed:
        await held.pool.run(held.held, "password")
    # Nothing waited: the answer came from the queue, which still holds the same three.
    assert held.pool.waiting == 3
    assert shed.value.status == 503
    assert shed.value.retry_after_seconds == 2  # 4 hashes of 0.3 s, rounded up
    held.release.set()
    assert await asyncio.gather(*running_and_queued) == ["hashed"] * 4


async def test_retry_after_grows_with_the_queue_and_shrinks_with_more_threads(
    pools: list[HeldPool],
) -> None:
    # Two threads at 2 s a hash drain one hash a second: five queued fit within 5 s.
    held = held_pool(pools, 2, 2.0, 5.0)
    admitted = await held.start(2 + 5)
    assert held.pool.waiting == 5
    assert held.pool.expected_wait() == pytest.approx(6.0)
    with pytest.raises(Overloaded) as shed:
        await held.pool.run(held.held, "password")
    assert shed.value.retry_after_seconds == 6
    assert shed.value.headers == {"Retry-After": "6"}
    held.release.set()
    await asyncio.gather(*admitted)


async def test_a_hash_that_waited_out_the_timeout_is_told_what_the_queue_needs(
    pools: list[HeldPool],
) -> None:
    # Admitted before any hash was measured; meanwhile one is, at 3 s.
    held = held_pool(pools, 1, None, 0.05)
    (running,) = await held.start(1)
    (queued,) = await held.start(1)
    assert held.pool.waiting == 1
    held.pool.seconds_per_hash = 3.0
    with pytest.raises(Overloaded) as shed:
        await queued
    # Gone from the queue, it is told what the hashes still ahead need: the running one's 3 s.
    assert held.pool.waiting == 0
    assert shed.value.retry_after_seconds == 3
    held.release.set()
    await running


async def test_a_free_thread_takes_the_hash_whatever_the_measured_time(
    pools: list[HeldPool],
) -> None:
    held = held_pool(pools, 2, 60.0, 1.0)
    tasks = await held.start(2)
    assert held.pool.waiting == 0
    with pytest.raises(Overloaded):  # both threads busy, and a minute a hash
        await held.pool.run(held.held, "password")
    held.release.set()
    await asyncio.gather(*tasks)


async def test_before_any_hash_is_measured_a_queued_hash_waits_out_the_timeout(
    pools: list[HeldPool],
) -> None:
    held = held_pool(pools, 1, None, 0.01)
    (running,) = await held.start(1)
    with pytest.raises(Overloaded) as shed:
        await held.pool.run(held.held, "password")
    assert shed.value.retry_after_seconds == 1
    held.release.set()
    await running


async def test_each_finished_hash_moves_the_measured_time() -> None:
    ticks = iter([0.0, 0.5, 1.0, 2.5])
    pool = HashPool(1, 5.0, clock=lambda: next(ticks))
    assert pool.seconds_per_hash is None
    pool.observe(0.5)
    assert pool.seconds_per_hash == 0.5
    pool.observe(1.5)
    assert pool.seconds_per_hash == pytest.approx(0.7)  # a fifth of the way to 1.5
    pool.close()


async def test_warm_up_measures_a_hash_so_shedding_starts_with_the_first_request() -> None:
    hasher = PasswordHasher.from_settings(settings_for(hash_concurrency=1))
    assert hasher.pool.seconds_per_hash is None
    await hasher.warm_up()
    assert hasher.pool.seconds_per_hash is not None
    hasher.close()


async def test_waiting_hashes_run_in_the_order_they_came_on_the_threads_that_free_up(
    pools: list[HeldPool],
) -> None:
    held = held_pool(pools, 1, 0.1, 5.0)
    ran: list[tuple[str, str]] = []

    def recorded(label: str | None) -> str:
        held.held()
        ran.append((str(label), threading.current_thread().name))
        return str(label)

    first = asyncio.ensure_future(held.pool.run(recorded, "first"))
    queued = [
        asyncio.ensure_future(held.pool.run(recorded, label)) for label in ("second", "third")
    ]
    await asyncio.sleep(0)
    assert held.pool.waiting == 2
    held.release.set()
    assert await asyncio.gather(first, *queued) == ["first", "second", "third"]
    # The one thread took each next hash itself, oldest first.
    assert ran == [("first", "hash_0"), ("second", "hash_0"), ("third", "hash_0")]
    assert held.pool.waiting == 0


async def test_a_waiting_hash_whose_caller_went_away_is_never_run(pools: list[HeldPool]) -> None:
    held = held_pool(pools, 1, 0.1, 5.0)
    (running,) = await held.start(1)
    calls: list[str | None] = []
    abandoned = asyncio.ensure_future(held.pool.run(calls.append, "abandoned"))
    await asyncio.sleep(0)
    assert held.pool.waiting == 1
    abandoned.cancel()
    with pytest.raises(asyncio.CancelledError):
        await abandoned
    assert held.pool.waiting == 0
    held.release.set()
    await running
    assert await held.pool.run(calls.append, "later") is None
    assert calls == ["later"]
