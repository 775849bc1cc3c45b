"""The background purge: batches that let requests through, and a loop that never gives up."""

from __future__ import annotations

import asyncio
import logging

import pytest

from authapi.errors import StoreUnavailable
from authapi.housekeeping import purge_ended, purge_periodically
from authapi.records import Session
from authapi.store import MemoryStore
from tests.store.test_store import NOW, a_user


class Batches:
    """A store that has `pending` ended records, and notes what ran between its batches."""

    def __init__(self, pending: int, failures: list[BaseException] | None = None) -> None:
        self.pending = pending
        self.failures = failures or []
        self.calls: list[int] = []
        self.others_ran: list[bool] = []
        self._other_ran = False

    async def purge(self, now: int, batch: int) -> int:
        self.calls.append(now)
        self.others_ran.append(self._other_ran)
        self._other_ran = False
        if self.failures:
            raise self.failures.pop(0)
        deleted = min(batch, self.pending)
        self.pending -= deleted
        return deleted

    async def other_request(self) -> None:
        while True:
            self._other_ran = True
            await asyncio.sleep(0)


async def test_purge_goes_on_in_batches_until_a_short_one_and_yields_between_them() -> None:
    store = Batches(pending=25)
    other = asyncio.create_task(store.other_request())
    try:
        assert await purge_ended(store, NOW, batch=10) == 25  # type: ignore[arg-type]
    finally:
        other.cancel()
    assert len(store.calls) == 3
    # Between any two batches, another request got the event loop.
    assert store.others_ran[1:] == [True, True]


async def test_purge_of_a_real_store_deletes_everything_ended_in_small_batches() -> None:
    store = MemoryStore()
    user = a_user()
    await store.add_user(user)
    for number in range(7):
        await store.add_session(Session(f"s{number}", user.id, NOW - 9, NOW - 1, "h"))
    assert await purge_ended(store, NOW, batch=2) == 7
    assert await store.count_live_sessions(NOW - 2) == 0


async def test_an_unavailable_store_skips_a_pass_and_the_loop_goes_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    store = Batches(pending=3, failures=[StoreUnavailable(), RuntimeError("boom")])
    clock = iter(range(NOW, NOW + 100))
    loop = asyncio.create_task(
        purge_periodically(store, lambda: next(clock), interval=0)  # type: ignore[arg-type]
    )
    with caplog.at_level(logging.INFO, logger="authapi.housekeeping"):
        async with asyncio.timeout(5):
            while store.pending:
                await asyncio.sleep(0)
        loop.cancel()
        with pytest.raises(asyncio.CancelledError):
            await loop
    assert store.calls[:3] == [NOW, NOW + 1, NOW + 2]
    messages = [record.getMessage() for record in caplog.records]
    assert messages[:3] == ["purge skipped: store unavailable", "purge failed", "purged"]
    # The type of an unexpected error is logged, never its text.
    assert "boom" not in caplog.text


async def test_the_loop_waits_for_the_store_to_open_before_its_first_pass() -> None:
    store = Batches(pending=0)
    opened = asyncio.get_running_loop().create_future()
    loop = asyncio.create_task(
        purge_periodically(store, lambda: NOW, interval=3600, ready=opened)  # type: ignore[arg-type]
    )
    for _ in range(10):
        await asyncio.sleep(0)
    assert store.calls == []
    opened.set_result(None)
    async with asyncio.timeout(5):
        while not store.calls:
            await asyncio.sleep(0)
    loop.cancel()


class HeldPurge:
    """A store whose purge statement runs until the test lets it finish."""

    def __init__(self) -> None:
        self.started = asyncio.Event()
        self.release = asyncio.Event()
        self.finished = 0

    async def purge(self, now: int, batch: int) -> int:
        self.started.set()
        await self.release.wait()
        self.finished += 1
        # A full batch: a pass that was not told to stop would go on to the next one.
        return batch


async def test_stopping_the_loop_lets_the_statement_in_flight_finish_and_starts_no_other() -> None:
    store = HeldPurge()
    stop = asyncio.Event()
    loop = asyncio.create_task(
        purge_periodically(store, lambda: NOW, interval=3600, stop=stop)  # type: ignore[arg-type]
    )
    async with asyncio.timeout(5):
        await store.started.wait()
    stop.set()
    for _ in range(10):
        await asyncio.sleep(0)
    # Not cancelled mid-statement: the loop waits for the purge in flight.
    assert not loop.done()
    store.release.set()
    async with asyncio.timeout(5):
        await loop
    assert not loop.cancelled()
    assert store.finished == 1
