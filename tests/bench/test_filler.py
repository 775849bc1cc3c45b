"""The bench's filler rows: the bulk statements write what the store's own methods write."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

import pytest

from authapi.records import Hits
from authapi.store import MemoryStore, Store, open_store
from bench.harness.filler import LIFETIME, fill_in_bulk, fill_through_store, filler
from bench.harness.postgres import fresh_schema
from tests.backends import require_postgres

ROWS = 12
HASH = "$2b$04$" + "f" * 53


async def _read_back(store: Store, now: int) -> None:
    for number in range(1, ROWS + 1):
        row = filler(number, now, HASH)
        assert await store.get_user(row.user.id) == row.user
        assert await store.get_user_by_email(row.user.email) == row.user
        assert await store.get_session(row.session.id) == row.session
        assert await store.get_task(row.user.id, row.task.id) == row.task
        assert await store.peek(row.counter_key, LIFETIME, now) == Hits(1, now + LIFETIME)
        assert await store.is_known_address(row.user.id, row.address_key)
        page = await store.list_activity(row.user.id, limit=10)
        assert page.items == [row.activity]


def test_the_store_reads_back_every_filler_its_own_methods_wrote() -> None:
    store = MemoryStore()
    now = int(time.time())

    async def fill_and_read() -> None:
        await fill_through_store(store, ROWS, now, HASH)
        await _read_back(store, now)

    asyncio.run(fill_and_read())


@pytest.mark.slow
@pytest.mark.parametrize("way", ["store methods", "bulk statements"])
def test_postgresql_reads_back_the_same_fillers_whichever_way_they_were_written(
    way: str,
) -> None:
    require_postgres()
    now = int(time.time())
    with fresh_schema("test_filler") as url:
        assert url is not None
        store = open_store(url)
        fills: dict[str, Callable[[], Awaitable[None]]] = {
            "store methods": lambda: fill_through_store(store, ROWS, now, HASH),
            "bulk statements": lambda: fill_in_bulk(url, ROWS, now, HASH),
        }

        async def fill_and_read() -> None:
            await store.open()
            try:
                await fills[way]()
                await _read_back(store, now)
            finally:
                await store.close()

        asyncio.run(fill_and_read())
