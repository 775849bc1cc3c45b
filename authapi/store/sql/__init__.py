"""SQLite and PostgreSQL stores on SQLAlchemy, with asyncpg for PostgreSQL's hot paths."""

from authapi.store.sql.engine import async_url
from authapi.store.sql.store import SqlStore

__all__ = ["SqlStore", "async_url"]
