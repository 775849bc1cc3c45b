"""SQLite and PostgreSQL stores on SQLAlchemy, with asyncpg for PostgreSQL's hot paths."""

from authapi.store.sql.store import SqlStore, async_url

__all__ = ["SqlStore", "async_url"]
