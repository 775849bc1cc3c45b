"""authapi/activity.py's ActivityWriter: events that report no change, written after the answer.

It never lets the deferred writes grow without bound, never raises a failed write, and is
drained: by the owner's read (authapi/activity.py's ActivityService) and at shutdown.
"""

from __future__ import annotations

import asyncio

from authapi.activity import ActivityWriter, event
from authapi.answering import answering
from authapi.errors import StoreUnavailable
from authapi.events import Events
from authapi.records import Activity, Peer
from authapi.store import MemoryStore
from authapi.web.services import Services
from tests.config import settings_for

STRANGER = Peer(address="198.51.100.23")
NOW = 1_800_000_000
# Loop turns a slow write takes: many more than anything else at shutdown needs.
SLOW_TURNS = 50


class JournalStore(MemoryStore):
    """A memory store that notes the writes it ends and its closing; writes can be slow."""

    def __init__(self, turns: int = 0, failing: bool = False) -> None:
        super().__init__()
        self.journal: list[str] = []
        self.turns = turns
        self.failing = failing

    async def record_activity(self, activity: Activity) -> None:
        for _ in range(self.turns):
            await asyncio.sleep(0)
        if self.failing:
            raise StoreUnavailable()
        await super().record_activity(activity)
        self.journal.append(f"wrote {activity.id}")

    async def close(self) -> None:
        self.journal.append("closed")


def failed(number: int) -> Activity:
    return event("login_failed", f"user-{number}", NOW, STRANGER, reason="wrong_password")


async def test_past_the_bound_a_write_is_made_in_place_and_the_rest_wait() -> None:
    store = JournalStore()
    writer = ActivityWriter(store, Events(), max_pending=2)
    deferred = [failed(0), failed(1)]
    inline = failed(2)
    async with answering():
        for activity in deferred:
            await writer.record_later(activity)
        assert writer.pending == 2
        await writer.record_later(inline)
        # Written before the call returned, while the two deferred ones have not run yet.
        assert store.journal == [f"wrote {inline.id}"]
        assert writer.pending == 2
    # The request ends only once the work it left has ended.
    assert writer.pending == 0
    assert sorted(store.journal) == sorted(f"wrote {item.id}" for item in [*deferred, inline])


async def test_a_deferred_write_waits_for_its_answer() -> None:
    store = JournalStore()
    writer = ActivityWriter(store, Events())
    async with answering() as answered:
        await writer.record_later(failed(0))
        for _ in range(SLOW_TURNS):
            await asyncio.sleep(0)
        assert store.journal == []
        answered()
        await writer.drain()
        assert len(store.journal) == 1


async def test_a_request_ends_after_the_work_it_left_even_unanswered() -> None:
    store = JournalStore(turns=SLOW_TURNS)
    writer = ActivityWriter(store, Events())
    async with answering():
        await writer.record_later(failed(0))
    assert len(store.journal) == 1
    assert writer.pending == 0


async def test_outside_a_request_the_write_is_made_in_place() -> None:
    # A script or a test calling a use case has no answer to protect, and no request that
    # would wait for a task left behind: a task could outlive its loop, cut off half-way.
    store = JournalStore(turns=SLOW_TURNS)
    writer = ActivityWriter(store, Events())
    activity = failed(0)
    await writer.record_later(activity)
    assert store.journal == [f"wrote {activity.id}"]
    assert writer.pending == 0


async def test_a_failed_write_is_counted_and_never_raised() -> None:
    store = JournalStore(failing=True)
    heard: list[str] = []
    writer = ActivityWriter(store, Events(heard.append), max_pending=1)
    async with answering():
        await writer.record_later(failed(0))
        # Past the bound, in place: the failure is not raised to the caller either.
        await writer.record_later(failed(1))
    assert writer.failures == 2
    assert heard == ["activity_not_recorded", "activity_not_recorded"]


async def test_shutdown_waits_for_the_deferred_writes_before_closing_the_store() -> None:
    store = JournalStore(turns=SLOW_TURNS)
    services = Services.build(settings_for(), store=store)
    pending = failed(0)
    async with services.running():
        serving = answering()
        answered = await serving.__aenter__()
        await services.activity_writer.record_later(pending)
        answered()
    # Shutdown came after the answer, while the request that left the write was still open.
    assert store.journal == [f"wrote {pending.id}", "closed"]
    await serving.__aexit__(None, None, None)
