"""Background cleanup: delete what has ended, a batch at a time, while requests go on."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from authapi.errors import StoreUnavailable
from authapi.store.base import Store

# How often each worker purges; every worker does, and their deletes simply overlap.
PURGE_INTERVAL_SECONDS = 60.0
# Rows per statement: small enough that no request waits long behind one.
PURGE_BATCH = 1000

logger = logging.getLogger(__name__)


async def purge_ended(
    store: Store, now: int, batch: int = PURGE_BATCH, stop: asyncio.Event | None = None
) -> int:
    """Delete every ended session, counter and stale known address; return how many.

    A set `stop` ends the pass after the batch in flight.
    """
    total = 0
    while stop is None or not stop.is_set():
        deleted = await store.purge(now, batch)
        total += deleted
        if deleted < batch:
            return total
        # Let waiting requests run between batches.
        await asyncio.sleep(0)
    return total


async def purge_periodically(
    store: Store,
    now: Callable[[], int],
    interval: float = PURGE_INTERVAL_SECONDS,
    ready: Awaitable[None] | None = None,
    stop: asyncio.Event | None = None,
) -> None:
    """Purge now and then every `interval` seconds, until `stop` is set; never give up.

    Stopping waits for the statement in flight instead of cancelling it: a statement
    cancelled mid-way costs its connection, and SQLite's driver thread would then finish it
    on an event loop that may be gone.
    """
    stop = stop or asyncio.Event()
    if ready is not None:
        await ready
    while not stop.is_set():
        try:
            deleted = await purge_ended(store, now(), stop=stop)
            if deleted:
                logger.info("purged", extra={"fields": {"records_deleted": deleted}})
        except StoreUnavailable:
            logger.warning("purge skipped: store unavailable")
        except Exception as error:
            # A failed pass must not end the loop: the next one may well succeed.
            logger.error("purge failed", extra={"fields": {"exc_type": type(error).__name__}})
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), interval)
