"""The connections to one SQLite file or PostgreSQL schema: URL, pool, turns, migrations."""

from __future__ import annotations

import re
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import parse_qsl, urlencode

from sqlalchemy import event, text
from sqlalchemy.exc import DBAPIError, DisconnectionError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from authapi.errors import StoreUnavailable
from authapi.store.sql.migrate import migrate
from authapi.store.sql.outage import is_outage
from authapi.store.sql.turns import Turns

_SCHEMA_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
# How long a request may wait on the database before it answers 503.
TIMEOUT_SECONDS = 5
# A pooled connection unused for this long is pinged before its next use.
IDLE_PING_SECONDS = 10.0


def async_url(storage_url: str) -> tuple[str, str | None]:
    """Map a STORAGE_URL to an async SQLAlchemy URL, and pull out an optional `schema`."""
    url, schema, _ = _parse(storage_url)
    return url, schema


def _parse(storage_url: str) -> tuple[str, str | None, str | None]:
    scheme, rest = storage_url.split("://", 1)
    location, _, query_string = rest.partition("?")
    query = dict(parse_qsl(query_string))
    schema = query.pop("schema", None)
    if schema is not None and not _SCHEMA_NAME.match(schema):
        raise ValueError("schema must be a lower-case SQL identifier")
    # A session setting, not a connection argument: SQLAlchemy would pass it on to asyncpg's
    # connect(), which refuses it.
    application_name = query.pop("application_name", None)
    driver = {"sqlite": "sqlite+aiosqlite", "postgresql": "postgresql+asyncpg"}[scheme]
    url = f"{driver}://{location}" + (f"?{urlencode(query)}" if query else "")
    return url, schema, application_name


class Database:
    """One database behind SQLAlchemy: a fixed pool, served in first-come first-served turns."""

    def __init__(self, storage_url: str, pool_size: int) -> None:
        self.url, self.schema, self.application_name = _parse(storage_url)
        self.is_sqlite = self.url.startswith("sqlite")
        self.timeout: float = TIMEOUT_SECONDS
        self.idle_ping_seconds = IDLE_PING_SECONDS
        # Every connection in use, SQLAlchemy's or another driver's, holds one of these.
        self.turns = Turns(pool_size, self.timeout)
        self.engine = self._create_engine(pool_size)
        # Every read is one statement: on PostgreSQL it needs no BEGIN and ROLLBACK around it.
        self._reader = (
            self.engine
            if self.is_sqlite
            else self.engine.execution_options(isolation_level="AUTOCOMMIT")
        )

    @property
    def server_settings(self) -> dict[str, str]:
        """Return the PostgreSQL session settings every connection starts with."""
        settings = {"search_path": self.schema} if self.schema else {}
        if self.application_name:
            # It names the service's connections in pg_stat_activity.
            settings["application_name"] = self.application_name
        return settings

    @property
    def asyncpg_dsn(self) -> str:
        """Return the URL for asyncpg itself, without SQLAlchemy's driver name."""
        return self.url.replace("postgresql+asyncpg://", "postgresql://", 1)

    def _create_engine(self, pool_size: int) -> AsyncEngine:
        if self.is_sqlite:
            engine = create_async_engine(self.url, connect_args={"timeout": self.timeout})
            event.listen(engine.sync_engine, "connect", self._tune_sqlite)
            return engine
        engine = create_async_engine(
            self.url,
            # A fixed pool: connections beyond it would be opened (TLS handshake included)
            # and closed again for every burst, which cost more than waiting for one.
            pool_size=pool_size,
            max_overflow=0,
            pool_timeout=self.timeout,
            connect_args={
                "timeout": self.timeout,
                "command_timeout": self.timeout,
                "server_settings": self.server_settings,
            },
        )
        _ping_connections_idle_for(engine, self.idle_ping_seconds)
        return engine

    def _tune_sqlite(self, dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        # WAL lets readers and one writer work at once; FULL syncs every commit to disk,
        # so a write answered 2xx survives a kill -9 (and a power cut).
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={int(self.timeout * 1000)}")
        cursor.close()

    @asynccontextmanager
    async def connect(self, write: bool = False) -> AsyncIterator[AsyncConnection]:
        """Lend a connection in a turn: in one transaction if it writes."""
        async with self.turns:
            try:
                async with (self.engine if write else self._reader).connect() as connection:
                    try:
                        if write:
                            await connection.begin()
                        yield connection
                        if write:
                            await connection.commit()
                    except Exception as error:
                        if is_outage(error):
                            # It may be closed, or mid-protocol: it is discarded now, before
                            # a rollback is tried on it, and never lent again.
                            await connection.invalidate()
                        raise
            except Exception as error:
                if is_outage(error):
                    raise StoreUnavailable() from error
                raise

    async def open(self) -> None:
        """Connect, and bring a fresh database to the current schema."""
        try:
            await migrate(self.engine, self.schema)
        except (DBAPIError, OSError, TimeoutError) as error:
            raise StoreUnavailable() from error

    async def ping(self) -> None:
        """Raise StoreUnavailable unless a connection answers."""
        async with self.connect() as connection:
            await connection.execute(text("SELECT 1"))

    async def close(self) -> None:
        """Close every pooled connection."""
        await self.engine.dispose()


def _ping_connections_idle_for(engine: AsyncEngine, seconds: float) -> None:
    """Check a pooled connection before use only when it has sat idle for `seconds`.

    SQLAlchemy's pool_pre_ping costs a round trip on every checkout, two per protected
    request. A connection in steady use proves itself; one that sat idle (through a
    database restart, a firewall's idle timeout) is pinged, and replaced when the ping
    fails. A connection that breaks in use fails that request with a 503, and SQLAlchemy
    then discards every pooled connection older than the failure.
    """

    @event.listens_for(engine.sync_engine, "checkin")
    def remember_last_use(_dbapi_connection: Any, record: Any) -> None:
        record.info["last_used"] = time.monotonic()

    @event.listens_for(engine.sync_engine, "checkout")
    def ping_if_idle(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        last_used = record.info.get("last_used")
        if last_used is None or time.monotonic() - last_used < seconds:
            return
        try:
            engine.dialect.do_ping(dbapi_connection)
        except Exception as error:
            # The pool then opens a fresh connection in its place.
            raise DisconnectionError() from error
