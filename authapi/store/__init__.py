"""Storage behind one small interface: memory by default, SQLite or PostgreSQL to grow."""

from authapi.store.base import DEFAULT_ACTIVITY_BOUNDS, ActivityBounds, Store
from authapi.store.memory import MAX_USERS, MemoryStore
from authapi.store.memory_activity import MAX_EVENTS
from authapi.store.memory_tasks import MAX_TASKS

__all__ = ["ActivityBounds", "MemoryStore", "Store", "open_store"]


def open_store(
    storage_url: str,
    pool_size: int = 10,
    activity: ActivityBounds = DEFAULT_ACTIVITY_BOUNDS,
    *,
    max_users: int = MAX_USERS,
    max_tasks: int = MAX_TASKS,
    max_activity_events: int = MAX_EVENTS,
) -> Store:
    """Return the store a STORAGE_URL names (not yet connected: call `open()`).

    `max_users`, `max_tasks` and `max_activity_events` bound the memory store only: a
    database grows on disk, under the quotas its operator sets, and the rate limits bound
    how fast it grows.
    """
    if storage_url.startswith("memory://"):
        return MemoryStore(
            activity=activity,
            max_users=max_users,
            max_tasks=max_tasks,
            max_activity_events=max_activity_events,
        )
    # Imported here so that the memory store works without touching SQLAlchemy.
    from authapi.store.sql import SqlStore

    return SqlStore(storage_url, pool_size=pool_size, activity=activity)
