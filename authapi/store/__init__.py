"""Storage behind one small interface, so that SQL backends can replace the memory one."""

from authapi.store.base import Session, Store, User
from authapi.store.memory import MemoryStore

__all__ = ["MemoryStore", "Session", "Store", "User"]
