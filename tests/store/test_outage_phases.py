"""A backend the server ends at any phase of a statement is an outage, then the store serves.

Each call runs on the store's only connection of its path (asyncpg's hot statements, or
SQLAlchemy's), and the server ends that connection's backend:

- before prepare: the connection is closed when the statement is sent;
- between prepare and execute: the client has read the server's goodbye but not yet the
  close, so asyncpg's protocol is mid-error ("cannot switch to state 12; another operation
  (2) is in progress");
- mid-execute: the statement waits for a lock that another transaction holds.

Every phase must give StoreUnavailable (a 503), never the driver's error (a 500), and the
broken connection must be dropped: the next call is served.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from asyncpg.connection import Connection

from authapi.errors import StoreUnavailable
from authapi.records import Session, User
from authapi.store.sql import SqlStore
from authapi.store.sql.engine import async_url
from tests.backends import (
    POSTGRES_URL,
    end_the_backend,
    end_the_backend_waiting_for_a_lock,
    storage_url,
)
from tests.store.test_store import NOW, a_session, a_task, a_user

BEFORE_PREPARE = "before prepare"
BETWEEN_PREPARE_AND_EXECUTE = "between prepare and execute"
MID_EXECUTE = "mid-execute"


@dataclasses.dataclass(frozen=True)
class Call:
    """A store call whose first statement the test holds; `table` is the one it reads or writes."""

    name: str
    run: Callable[[SqlStore, User, Session], Awaitable[Any]]
    statement: str
    table: str


CALLS = [
    Call(
        "asyncpg session check",
        lambda store, _user, session: store.get_session_and_user(session.id),
        "FROM sessions s JOIN users u",
        "sessions",
    ),
    Call(
        "asyncpg capped task create",
        lambda store, user, _session: store.add_task(a_task(user), max_tasks=100),
        "INSERT INTO tasks",
        "tasks",
    ),
    Call(
        "SQLAlchemy read",
        lambda store, _user, session: store.get_session(session.id),
        "FROM sessions",
        "sessions",
    ),
    Call(
        "SQLAlchemy write",
        lambda store, user, _session: store.revoke_user_sessions(user.id, NOW),
        "UPDATE users",
        "users",
    ),
]


class Seam:
    """Hold the next statement containing `statement` at `phase`, on whichever connection.

    asyncpg prepares every statement (or finds it prepared) in `_get_statement`, then
    executes it; SQLAlchemy's asyncpg dialect goes through the same method. Wrapping it
    gives the test the two moments around the prepare, and the connection's backend.
    """

    def __init__(self, statement: str, phase: str) -> None:
        self.statement = statement
        self.phase = phase
        self.held = asyncio.Event()
        self.go_on = asyncio.Event()
        self.connection: Connection | None = None
        self.pids: set[int] = set()

    def install(self, monkeypatch: pytest.MonkeyPatch) -> None:
        original = Connection._get_statement
        seam = self

        async def get_statement(connection: Connection, query: str, *args: Any, **kw: Any) -> Any:
            ours = seam.statement in query
            if ours:
                seam.pids.add(connection.get_server_pid())
            hold = ours and seam.connection is None
            if hold and seam.phase == BEFORE_PREPARE:
                await seam.hold(connection)
            statement = await original(connection, query, *args, **kw)
            if hold and seam.phase == BETWEEN_PREPARE_AND_EXECUTE:
                await seam.hold(connection)
            return statement

        monkeypatch.setattr(Connection, "_get_statement", get_statement)

    async def hold(self, connection: Connection) -> None:
        self.connection = connection
        self.held.set()
        await self.go_on.wait()


def read_the_goodbye_but_not_the_close(connection: Connection) -> None:
    """Hand the protocol what the ended backend sent last, leaving the close unread.

    The connection stopped reading before its backend was ended, so the event loop saw
    neither the server's last message nor the close; the message is read here, by hand.
    """
    with connection._transport.get_extra_info("socket").dup() as sock:
        goodbye = sock.recv(65536)
    assert goodbye.startswith(b"E"), "the server says why it ends the connection"
    connection._protocol.data_received(goodbye)


async def the_close_is_seen(connection: Connection) -> None:
    for _ in range(300):
        if connection.is_closed():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the client never saw its connection close")


@asynccontextmanager
async def holding_an_exclusive_lock(url: str, table: str) -> AsyncIterator[None]:
    """Hold a lock on `table` that every statement on it waits for, read or write."""
    _, schema = async_url(url)
    admin = await asyncpg.connect(POSTGRES_URL, server_settings={"search_path": schema or ""})
    try:
        transaction = admin.transaction()
        await transaction.start()
        await admin.execute(f"LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE")
        try:
            yield
        finally:
            await transaction.rollback()
    finally:
        await admin.close()


@pytest.fixture
def postgres_url(tmp_path: Path) -> Iterator[str]:
    with storage_url("postgresql", tmp_path) as url:
        yield url


@pytest.fixture
async def store(postgres_url: str) -> AsyncIterator[SqlStore]:
    # One connection per path: the one the statement runs on is the one that breaks.
    store = SqlStore(postgres_url, pool_size=1)
    await store.open()
    try:
        yield store
    finally:
        await store.close()


@pytest.mark.parametrize("phase", [BEFORE_PREPARE, BETWEEN_PREPARE_AND_EXECUTE, MID_EXECUTE])
@pytest.mark.parametrize("call", CALLS, ids=[call.name for call in CALLS])
async def test_a_backend_ended_at_any_phase_is_an_outage_then_the_call_is_served(
    store: SqlStore,
    postgres_url: str,
    call: Call,
    phase: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    user = a_user()
    await store.add_user(user)
    session = a_session(user)
    assert await store.add_session(session)
    seam = Seam(call.statement, phase)
    seam.install(monkeypatch)

    if phase == MID_EXECUTE:
        await call.run(store, user, session)  # prepared now: next time it waits in execution
        async with holding_an_exclusive_lock(postgres_url, call.table):
            pending = asyncio.create_task(call.run(store, user, session))
            await end_the_backend_waiting_for_a_lock(seam.pids)
            with pytest.raises(StoreUnavailable):
                await pending
    else:
        pending = asyncio.create_task(call.run(store, user, session))
        await seam.held.wait()
        assert seam.connection is not None
        if phase == BETWEEN_PREPARE_AND_EXECUTE:
            seam.connection._transport.pause_reading()
        await end_the_backend(seam.connection.get_server_pid())
        if phase == BETWEEN_PREPARE_AND_EXECUTE:
            read_the_goodbye_but_not_the_close(seam.connection)
        else:
            await the_close_is_seen(seam.connection)
        seam.go_on.set()
        with pytest.raises(StoreUnavailable):
            await pending

    await call.run(store, user, session)
