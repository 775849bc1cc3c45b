"""PostgreSQL connections for the statements every request runs, on asyncpg directly.

SQLAlchemy builds, compiles and post-processes a statement in Python on every call, and
runs it through greenlets; on a protected GET that cost more than the rest of the request.
Here the few hot statements are plain SQL that asyncpg prepares once per connection (its
statement cache) and then only binds and executes.

The connections form a small last-in first-out stack without a pool's queue: the store's
first-come first-served turns already bound how many are in use, so a connection is free
whenever a caller holds a turn. Nothing is reset on the way back (asyncpg's pool spends a
round trip on that): a statement here never leaves a transaction or a session setting
behind, and a connection whose statement failed in doubt is closed, not reused.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import asyncpg

from authapi.errors import StoreUnavailable
from authapi.store.sql.outage import is_outage

T = TypeVar("T")


class PreparedConnections:
    """asyncpg connections to one database and schema, opened on demand and kept for reuse."""

    def __init__(
        self,
        dsn: str,
        server_settings: dict[str, str],
        *,
        timeout: float,
        idle_ping_seconds: float,
    ) -> None:
        self._dsn = dsn
        self._server_settings = server_settings
        self._timeout = timeout
        self._idle_ping_seconds = idle_ping_seconds
        # (connection, when it was last given back), the most recently used last.
        self._idle: list[tuple[asyncpg.Connection, float]] = []

    async def fetchrow(self, sql: str, *args: Any) -> asyncpg.Record | None:
        """Run one statement and return its first row, if any."""
        connection = await self._checkout()
        try:
            row = await connection.fetchrow(sql, *args)
        except BaseException as error:
            self._failed(connection, error)
            raise
        self._idle.append((connection, time.monotonic()))
        return row

    async def fetch(self, sql: str, *args: Any) -> list[asyncpg.Record]:
        """Run one statement and return every row."""
        connection = await self._checkout()
        try:
            rows: list[asyncpg.Record] = await connection.fetch(sql, *args)
        except BaseException as error:
            self._failed(connection, error)
            raise
        self._idle.append((connection, time.monotonic()))
        return rows

    async def execute(self, sql: str, *args: Any) -> int:
        """Run one statement and return how many rows it changed."""
        connection = await self._checkout()
        try:
            status: str = await connection.execute(sql, *args)
        except BaseException as error:
            self._failed(connection, error)
            raise
        self._idle.append((connection, time.monotonic()))
        return _rowcount(status)

    async def in_transaction(
        self, steps: Callable[[asyncpg.Connection], Awaitable[T]], begin: str = "BEGIN"
    ) -> T:
        """Run `steps` on one connection inside `begin` (BEGIN and maybe more) ... COMMIT."""
        connection = await self._checkout()
        try:
            await connection.execute(begin)
            result = await steps(connection)
            await connection.execute("COMMIT")
        except BaseException as error:
            # Closing the connection rolls back whatever the transaction did.
            self._failed(connection, error, reusable=False)
            raise
        self._idle.append((connection, time.monotonic()))
        return result

    async def ping(self) -> None:
        """Raise StoreUnavailable unless a connection answers."""
        await self.fetchrow("SELECT 1")

    async def close(self) -> None:
        """Close every connection not in use."""
        idle, self._idle = self._idle, []
        for connection, _ in idle:
            try:
                await connection.close(timeout=self._timeout)
            except Exception:
                connection.terminate()

    async def _checkout(self) -> asyncpg.Connection:
        now = time.monotonic()
        while self._idle:
            connection, last_used = self._idle.pop()
            if connection.is_closed():
                continue
            if now - last_used < self._idle_ping_seconds:
                return connection
            # Idle long enough to have missed a restart or a firewall's timeout: check it.
            try:
                await connection.fetchval("SELECT 1", timeout=self._timeout)
            except BaseException as error:
                connection.terminate()
                if not isinstance(error, Exception):
                    raise
                continue
            return connection
        try:
            return await asyncpg.connect(
                self._dsn,
                timeout=self._timeout,
                command_timeout=self._timeout,
                server_settings=self._server_settings,
            )
        except Exception as error:
            if is_outage(error):
                raise StoreUnavailable() from error
            raise

    def _failed(
        self, connection: asyncpg.Connection, error: BaseException, reusable: bool = True
    ) -> None:
        """Decide what becomes of `connection` after `error`; raise StoreUnavailable for outages."""
        # A cancellation stays one, whatever became of the connection.
        if isinstance(error, Exception) and is_outage(error, connection.is_closed()):
            connection.terminate()
            # The others most likely met the same fate; they would fail a request each.
            self._drop_idle()
            raise StoreUnavailable() from error
        if reusable and isinstance(error, asyncpg.PostgresError) and not connection.is_closed():
            # The server refused the statement and the connection is as it was.
            self._idle.append((connection, time.monotonic()))
        else:
            # Cancelled mid-statement, or failed inside a transaction: its state is unknown.
            connection.terminate()

    def _drop_idle(self) -> None:
        idle, self._idle = self._idle, []
        for connection, _ in idle:
            connection.terminate()


def _rowcount(status: str) -> int:
    # A command tag: "UPDATE 1", "DELETE 0", "INSERT 0 1".
    return int(status.rpartition(" ")[2])
