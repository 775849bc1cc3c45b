"""Background cleanup: delete what has ended, a batch at a time, while requests go on."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from authapi.errors import StoreUnavailable
from authapi.store.base import Store

# How often each worker purges; every worker does, and their deletes simply overlap.
PURGE_INTERVAL_SECONDS = 60.0
# Rows per statement: small enough that no request waits long behind one.
PURGE_BATCH = 1000

logger = logging.getLogger(__name__)


async def purge_ended(store: Store, now: int, batch: int = PURGE_BATCH) -> int:
    """Delete every ended session, counter and stale known address; return how many."""
    total = 0
    while True:
        deleted = await store.purge(now, batch)
        total += deleted
        if deleted < batch:
            return total
        # Let waiting requests run between batches.
        await asyncio.sleep(0)


async def purge_periodically(
    store: Store,
    now: Callable[[], int],
    interval: float = PURGE_INTERVAL_SECONDS,
    ready: Awaitable[None] | None = None,
) -> None:
    """Purge now and then every `interval` seconds, until cancelled; never give up."""
    if ready is not None:
        await ready
    while True:
        try:
            deleted = await purge_ended(store, now())
            if deleted:
                logger.info("purged", extra={"fields": {"records_deleted": deleted}})
        except StoreUnavailable:
            logger.warning("purge skipped: store unavailable")
        except Exception as error:
            # A failed pass must not end the loop: the next one may well succeed.
            logger.error("purge failed", extra={"fields": {"exc_type": type(error).__name__}})
        await asyncio.sleep(interval)
