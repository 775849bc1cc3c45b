"""SQLite and PostgreSQL stores on SQLAlchemy, with asyncpg for PostgreSQL's hot paths.

engine    the URL and schema, the pool, the first-come first-served turns (turns.py),
          migrations under an advisory lock (migrate.py)
outage    the one rule that tells an outage (503) from a refused statement (a loud 500)
store     SqlStore, the store protocol in SQLAlchemy Core
hot       the statements every request runs, in two spellings side by side: asyncpg's
          prepared statements on PostgreSQL (over prepared.py's connections), SQLAlchemy
          on SQLite
rows      records read from rows by column name, the same way for both drivers
"""

from authapi.store.sql.engine import TIMEOUT_SECONDS, async_url
from authapi.store.sql.store import SqlStore

__all__ = ["TIMEOUT_SECONDS", "SqlStore", "async_url"]
