"""Storage behind one small interface: memory by default, SQLite or PostgreSQL to grow."""

from authapi.store.base import DEFAULT_ACTIVITY_BOUNDS, ActivityBounds, Store
from authapi.store.memory import MemoryStore

__all__ = ["ActivityBounds", "MemoryStore", "Store", "open_store"]


def open_store(
    storage_url: str, pool_size: int = 10, activity: ActivityBounds = DEFAULT_ACTIVITY_BOUNDS
) -> Store:
    """Return the store a STORAGE_URL names (not yet connected: call `open()`)."""
    if storage_url.startswith("memory://"):
        return MemoryStore(activity=activity)
    # Imported here so that the memory store works without touching SQLAlchemy.
    from authapi.store.sql import SqlStore

    return SqlStore(storage_url, pool_size=pool_size, activity=activity)
