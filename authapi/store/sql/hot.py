"""The statements every request runs, each in the spelling its backend runs fastest.

They are the session check of every authenticated request, rotation, revocation, the first
page of tasks and task creation. On PostgreSQL they skip SQLAlchemy, which builds, compiles
and post-processes a statement in Python on every call: asyncpg prepares each once per
connection, then only binds and executes it. On SQLite they stay SQLAlchemy Core.

Each statement's two spellings sit side by side below, with the same conditions, and their
rows are read by column name the same way; tests/store/test_hot_statements.py runs both
against the same cases. The store picks one implementation when it is built.
"""

from __future__ import annotations

import uuid
from operator import itemgetter
from typing import Any, Protocol

import asyncpg
from sqlalchemy import Insert, Select, Update, func, select, update

from authapi.records import Session, Task, TaskPage, User
from authapi.store.schema import sessions, tasks, users
from authapi.store.sql.engine import Database
from authapi.store.sql.prepared import PreparedConnections
from authapi.store.sql.rows import (
    SESSION_COLUMNS,
    Row,
    as_literals,
    session_from,
    task_from,
    values_of,
)


class HotStatements(Protocol):
    """The SQL store's hot paths, in one backend's spelling."""

    async def session_and_user(self, session_id: str) -> tuple[Session, User] | None:
        """Return a session by id, revoked or not, with its account."""

    async def rotate_refresh(
        self, session_id: str, expected_hash: str, new_hash: str, now: int
    ) -> bool:
        """Swap the session's refresh hash if it is still `expected_hash` and the session live."""

    async def revoke_session(self, session_id: str, now: int) -> None:
        """Revoke a session; revoking twice keeps the first time."""

    async def first_tasks(self, user_id: str, limit: int) -> TaskPage:
        """Return the first page of the user's tasks, newest first, unfiltered."""

    async def add_task(self, task: Task, max_tasks: int | None) -> bool:
        """Record a new task, unless its user already has `max_tasks`; tell whether it was."""

    async def ping(self) -> None:
        """Raise StoreUnavailable unless the statements' connections answer."""

    async def close(self) -> None:
        """Close the statements' own connections, if they have any."""


# The session check: one primary-key lookup and a join. The user's columns are labelled
# apart from the session's.
def session_and_user_query(session_id: str) -> Select[Any]:
    """Spell the session check for SQLAlchemy."""
    return (
        select(
            sessions,
            users.c.email.label("user_email"),
            users.c.password_hash.label("user_password_hash"),
            users.c.created_at.label("user_created_at"),
            users.c.credential_version.label("user_credential_version"),
        )
        .join(users, users.c.id == sessions.c.user_id)
        .where(sessions.c.id == session_id)
    )


SESSION_AND_USER_SQL = (
    f"SELECT {', '.join(f's.{name}' for name in SESSION_COLUMNS)}, "
    "u.email AS user_email, u.password_hash AS user_password_hash, "
    "u.created_at AS user_created_at, u.credential_version AS user_credential_version "
    "FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.id = $1"
)


_user_values = itemgetter(
    "user_email", "user_password_hash", "user_created_at", "user_credential_version"
)


def session_and_user_from(row: Row) -> tuple[Session, User]:
    """Read the session check's row, in either spelling."""
    session = session_from(row)
    email, password_hash, created_at, credential_version = _user_values(row)
    return session, User(session.user_id, email, password_hash, created_at, credential_version)


# Rotation is a compare-and-swap: only one of any number of concurrent rotations matches.
def rotate_refresh_statement(
    session_id: str, expected_hash: str, new_hash: str, now: int
) -> Update:
    """Spell the rotation for SQLAlchemy."""
    return (
        update(sessions)
        .where(
            sessions.c.id == session_id,
            sessions.c.refresh_hash == expected_hash,
            sessions.c.revoked_at.is_(None),
            sessions.c.expires_at > now,
        )
        .values(refresh_hash=new_hash, previous_refresh_hash=expected_hash, rotated_at=now)
    )


ROTATE_REFRESH_SQL = (
    "UPDATE sessions SET refresh_hash = $3, previous_refresh_hash = $2, rotated_at = $4 "
    "WHERE id = $1 AND refresh_hash = $2 AND revoked_at IS NULL AND expires_at > $4"
)


def revoke_session_statement(session_id: str, now: int) -> Update:
    """Spell the revocation for SQLAlchemy."""
    return (
        update(sessions)
        .where(sessions.c.id == session_id, sessions.c.revoked_at.is_(None))
        .values(revoked_at=now)
    )


REVOKE_SESSION_SQL = "UPDATE sessions SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL"


# A page of tasks, newest first, with one row more than the page to tell whether more follow.
def newest_tasks_query(user_id: str, limit: int) -> Select[Any]:
    """Spell the first page for SQLAlchemy; the store narrows it for filters and cursors."""
    return (
        select(tasks)
        .where(tasks.c.user_id == user_id)
        .order_by(tasks.c.created_at.desc(), tasks.c.id.desc())
        .limit(limit + 1)
    )


_TASK_COLUMN_NAMES = tuple(column.name for column in tasks.columns)
_TASK_COLUMNS = ", ".join(_TASK_COLUMN_NAMES)
NEWEST_TASKS_SQL = (
    f"SELECT {_TASK_COLUMNS} FROM tasks WHERE user_id = $1 "
    "ORDER BY created_at DESC, id DESC LIMIT $2"
)


def page_from(rows: list[Any], limit: int) -> TaskPage:
    """Read a page from up to `limit` + 1 rows, in either spelling."""
    return TaskPage(items=[task_from(row) for row in rows[:limit]], more=len(rows) > limit)


def add_task_statement(task: Task) -> Insert:
    """Spell an uncapped task insert for SQLAlchemy."""
    return tasks.insert().values(**values_of(task))


ADD_TASK_SQL = f"INSERT INTO tasks ({_TASK_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7)"


# Under the cap, a task is inserted only while its user has fewer than `max_tasks`. SQLite has
# one writer at a time, so the count and the insert never interleave with another create.
# PostgreSQL's creates of one user take turns on the user's row instead, each counting after
# the lock is held, so each sees the tasks the ones before it added.
def add_task_under_cap_statement(task: Task, max_tasks: int) -> Insert:
    """Spell the capped task insert for SQLAlchemy (on SQLite, which needs no lock)."""
    held = select(func.count()).where(tasks.c.user_id == task.user_id).scalar_subquery()
    return tasks.insert().from_select(
        _TASK_COLUMN_NAMES,
        select(*as_literals(tasks, task)).where(held < max_tasks),
    )


# FOR NO KEY UPDATE, as the store's add_session locks the user's row.
LOCK_USER_SQL = "SELECT 1 FROM users WHERE id = $1 FOR NO KEY UPDATE"
ADD_TASK_UNDER_CAP_SQL = (
    f"INSERT INTO tasks ({_TASK_COLUMNS}) "
    "SELECT $1::varchar, $2::varchar, $3::varchar, $4::text, $5::boolean, "
    "$6::timestamptz, $7::timestamptz "
    "WHERE (SELECT count(*) FROM tasks WHERE user_id = $2) < $8"
)


def begin_locking_user(user_id: str) -> str | None:
    """Return BEGIN and the user's row lock as one simple query, saving a round trip.

    A simple query takes no parameters, so the id is written into the SQL: only an id
    that is exactly a canonical UUID (hex digits and dashes, nothing to escape) is; any
    other gets None, and the lock goes as a statement of its own with a parameter.
    """
    try:
        canonical = str(uuid.UUID(user_id))
    except ValueError:
        return None
    if canonical != user_id:
        return None
    return f"BEGIN; SELECT 1 FROM users WHERE id = '{canonical}' FOR NO KEY UPDATE"


class AlchemyHotStatements:
    """The hot statements on SQLAlchemy, over the store's own engine (SQLite)."""

    def __init__(self, database: Database) -> None:
        self._database = database

    async def session_and_user(self, session_id: str) -> tuple[Session, User] | None:
        async with self._database.connect() as connection:
            result = await connection.execute(session_and_user_query(session_id))
            row = result.mappings().first()
        return None if row is None else session_and_user_from(row)

    async def rotate_refresh(
        self, session_id: str, expected_hash: str, new_hash: str, now: int
    ) -> bool:
        statement = rotate_refresh_statement(session_id, expected_hash, new_hash, now)
        async with self._database.connect(write=True) as connection:
            return (await connection.execute(statement)).rowcount == 1

    async def revoke_session(self, session_id: str, now: int) -> None:
        async with self._database.connect(write=True) as connection:
            await connection.execute(revoke_session_statement(session_id, now))

    async def first_tasks(self, user_id: str, limit: int) -> TaskPage:
        async with self._database.connect() as connection:
            rows = (await connection.execute(newest_tasks_query(user_id, limit))).mappings()
            return page_from(rows.all(), limit)

    async def add_task(self, task: Task, max_tasks: int | None) -> bool:
        statement = (
            add_task_statement(task)
            if max_tasks is None
            else add_task_under_cap_statement(task, max_tasks)
        )
        async with self._database.connect(write=True) as connection:
            return (await connection.execute(statement)).rowcount == 1

    async def ping(self) -> None:
        """Nothing of their own to check: the engine's ping covers them."""

    async def close(self) -> None:
        """Nothing of their own to close: the engine's connections are the store's."""


class AsyncpgHotStatements:
    """The hot statements prepared on asyncpg's own connections, in the store's turns."""

    def __init__(self, database: Database) -> None:
        self._turns = database.turns
        self._connections = PreparedConnections(
            database.asyncpg_dsn,
            database.server_settings,
            timeout=database.timeout,
            idle_ping_seconds=database.idle_ping_seconds,
        )

    async def session_and_user(self, session_id: str) -> tuple[Session, User] | None:
        async with self._turns:
            row = await self._connections.fetchrow(SESSION_AND_USER_SQL, session_id)
        return None if row is None else session_and_user_from(row)

    async def rotate_refresh(
        self, session_id: str, expected_hash: str, new_hash: str, now: int
    ) -> bool:
        async with self._turns:
            changed = await self._connections.execute(
                ROTATE_REFRESH_SQL, session_id, expected_hash, new_hash, now
            )
        return changed == 1

    async def revoke_session(self, session_id: str, now: int) -> None:
        async with self._turns:
            await self._connections.execute(REVOKE_SESSION_SQL, session_id, now)

    async def first_tasks(self, user_id: str, limit: int) -> TaskPage:
        async with self._turns:
            rows = await self._connections.fetch(NEWEST_TASKS_SQL, user_id, limit + 1)
        return page_from(rows, limit)

    async def add_task(self, task: Task, max_tasks: int | None) -> bool:
        values = tuple(getattr(task, name) for name in _TASK_COLUMN_NAMES)
        if max_tasks is None:
            async with self._turns:
                await self._connections.execute(ADD_TASK_SQL, *values)
            return True
        begin = begin_locking_user(task.user_id)

        async def steps(connection: asyncpg.Connection) -> bool:
            if begin is None:
                await connection.execute(LOCK_USER_SQL, task.user_id)
            added: str = await connection.execute(ADD_TASK_UNDER_CAP_SQL, *values, max_tasks)
            return added == "INSERT 0 1"

        async with self._turns:
            return await self._connections.in_transaction(steps, begin or "BEGIN")

    async def ping(self) -> None:
        async with self._turns:
            await self._connections.ping()

    async def close(self) -> None:
        await self._connections.close()
