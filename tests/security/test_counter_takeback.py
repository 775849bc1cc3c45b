"""Taking back a hit: only the window that counted it, never below zero, atomically.

A success takes back its own hit with the store's `unhit`. Were it to reach a newer window,
or go below zero, or lose a decrement to a concurrent one, one success could forgive a
guess, on some store; each store is raced here.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from authapi.records import Hits
from authapi.store import Store
from tests.backends import BACKENDS, opened_store, storage_url

NOW = 1_700_000_000


@pytest.fixture(params=BACKENDS)
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    with storage_url(request.param, tmp_path) as url:
        yield url


@pytest.fixture
async def store(store_url: str) -> AsyncIterator[Store]:
    async with opened_store(store_url) as opened:
        yield opened


async def test_a_taken_back_hit_leaves_the_others_counted(store: Store) -> None:
    first = await store.hit("k", 60, NOW)
    await store.hit("k", 60, NOW + 1)
    await store.unhit("k", first)
    assert await store.peek("k", 60, NOW + 2) == Hits(1, NOW + 60)


async def test_a_count_never_goes_below_zero(store: Store) -> None:
    hits = await store.hit("k", 60, NOW)
    for _ in range(3):
        await store.unhit("k", hits)
    assert await store.peek("k", 60, NOW) == Hits(0, NOW + 60)
    assert await store.hit("k", 60, NOW) == Hits(1, NOW + 60)


async def test_a_hit_of_an_ended_window_is_not_taken_from_the_next(store: Store) -> None:
    old = await store.hit("k", 60, NOW)
    await store.hit("k", 60, NOW + 60)  # a new window
    await store.unhit("k", old)
    assert await store.peek("k", 60, NOW + 61) == Hits(1, NOW + 120)


async def test_parallel_take_backs_are_all_counted_and_stop_at_zero(store: Store) -> None:
    hits = [await store.hit("k", 60, NOW) for _ in range(10)]
    await asyncio.gather(*(store.unhit("k", hit) for hit in hits * 2))
    assert await store.peek("k", 60, NOW) == Hits(0, NOW + 60)


async def test_a_hit_by_zero_reads_the_window_without_counting(store: Store) -> None:
    assert await store.hit("k", 60, NOW, by=0) == Hits(0, NOW + 60)
    await store.hit("k", 60, NOW)
    assert await store.hit("k", 60, NOW + 1, by=0) == Hits(1, NOW + 60)
    assert await store.hit("k", 60, NOW + 60, by=0) == Hits(0, NOW + 120)
