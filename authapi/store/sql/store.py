"""SQLite and PostgreSQL stores on SQLAlchemy Core, with async drivers.

Atomicity comes from the database itself: a unique constraint for registration and
conditional `UPDATE ... WHERE` statements for rotation and revocation, so it holds
across workers and machines. On PostgreSQL the statements of the hot paths (the session
check of every authenticated request, rotation, revocation, the first page of tasks and
task creation) skip SQLAlchemy and run as prepared statements on asyncpg (`prepared`);
they are the same statements, with the same conditions, as the SQLAlchemy ones.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

from sqlalchemy import (
    RowMapping,
    and_,
    case,
    func,
    literal,
    or_,
    select,
    text,
    tuple_,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.schema import Column, Table

from authapi.errors import EmailTaken
from authapi.records import Hits, Session, Task, TaskPage, User
from authapi.store.base import KNOWN_ADDRESS_RETENTION_SECONDS
from authapi.store.schema import known_addresses, sessions, tasks, throttles, users
from authapi.store.sql.engine import Database
from authapi.store.sql.prepared import PreparedConnections

T = TypeVar("T")


class SqlStore:
    """Keep users, sessions and tasks in SQLite (one node) or PostgreSQL (many workers)."""

    def __init__(self, storage_url: str, pool_size: int = 10) -> None:
        self._database = Database(storage_url, pool_size)
        self._is_sqlite = self._database.is_sqlite
        # The hot statements' own connections; they take the same turns as the engine's.
        self._pg = (
            None
            if self._is_sqlite
            else PreparedConnections(
                self._database.url.replace("postgresql+asyncpg://", "postgresql://", 1),
                self._database.schema,
                timeout=self._database.timeout,
                idle_ping_seconds=self._database.idle_ping_seconds,
            )
        )

    async def _on_postgres(self, run: Callable[..., Awaitable[T]], *args: Any) -> T:
        """Run one of `PreparedConnections`' calls in a turn."""
        async with self._database.turns:
            return await run(*args)

    async def open(self) -> None:
        await self._database.open()

    async def ping(self) -> None:
        await self._database.ping()
        if self._pg is not None:
            await self._on_postgres(self._pg.ping)

    async def close(self) -> None:
        if self._pg is not None:
            await self._pg.close()
        await self._database.close()

    async def add_user(self, user: User) -> None:
        try:
            async with self._database.connect(write=True) as connection:
                await connection.execute(users.insert().values(**_row(user)))
        except IntegrityError:
            raise EmailTaken() from None

    async def get_user(self, user_id: str) -> User | None:
        return await self._one_user(users.c.id == user_id)

    async def get_user_by_email(self, email: str) -> User | None:
        return await self._one_user(users.c.email == email)

    async def _one_user(self, condition: Any) -> User | None:
        async with self._database.connect() as connection:
            row = (await connection.execute(select(users).where(condition))).mappings().first()
        return None if row is None else _user(row)

    async def add_session(self, session: Session, max_sessions: int | None = None) -> bool:
        # Inserted only if the user's credential version is still the session's. On
        # PostgreSQL the user's row is locked too, so a password change or a logout-all
        # either commits first (and nothing is inserted) or waits, then revokes this session.
        # SQLite has one writer at a time, so its statements never interleave anyway.
        found = self._lock_user(
            select(*_literals(sessions, session)).where(
                users.c.id == session.user_id,
                users.c.credential_version == session.credential_version,
            )
        )
        insert = sessions.insert().from_select([c.name for c in sessions.columns], found)
        async with self._database.connect(write=True) as connection:
            if (await connection.execute(insert)).rowcount != 1:
                return False
            if max_sessions is not None:
                await connection.execute(_revoke_beyond(session, max_sessions))
        return True

    def _lock_user(self, query: Any) -> Any:
        # FOR NO KEY UPDATE: it waits for a credential change on the row, and for another
        # writer of the user's sessions or tasks, but not for inserts that reference the row.
        return query if self._is_sqlite else query.with_for_update(key_share=True)

    async def get_session(self, session_id: str) -> Session | None:
        async with self._database.connect() as connection:
            query = select(sessions).where(sessions.c.id == session_id)
            row = (await connection.execute(query)).mappings().first()
        return None if row is None else Session(**row)

    async def get_session_and_user(self, session_id: str) -> tuple[Session, User] | None:
        # Every authenticated request asks this: one primary-key lookup and a join.
        if self._pg is not None:
            found = await self._on_postgres(self._pg.fetchrow, _SESSION_AND_USER, session_id)
            if found is None:
                return None
            return Session(*found[:11]), User(found[1], *found[11:])
        query = (
            select(
                sessions,
                users.c.email,
                users.c.password_hash,
                users.c.created_at.label("user_created_at"),
                users.c.credential_version.label("user_credential_version"),
            )
            .join(users, users.c.id == sessions.c.user_id)
            .where(sessions.c.id == session_id)
        )
        async with self._database.connect() as connection:
            row = (await connection.execute(query)).mappings().first()
        if row is None:
            return None
        session = Session(**{column.name: row[column.name] for column in sessions.columns})
        user = User(
            id=session.user_id,
            email=row["email"],
            password_hash=row["password_hash"],
            created_at=_utc(row["user_created_at"]),
            credential_version=row["user_credential_version"],
        )
        return session, user

    async def rotate_refresh(
        self, session_id: str, expected_hash: str, new_hash: str, now: int
    ) -> bool:
        # Compare-and-swap: only one of any number of concurrent rotations matches the row.
        if self._pg is not None:
            args = (session_id, expected_hash, new_hash, now)
            return await self._on_postgres(self._pg.execute, _ROTATE_REFRESH, *args) == 1
        statement = (
            update(sessions)
            .where(
                sessions.c.id == session_id,
                sessions.c.refresh_hash == expected_hash,
                sessions.c.revoked_at.is_(None),
                sessions.c.expires_at > now,
            )
            .values(refresh_hash=new_hash, previous_refresh_hash=expected_hash, rotated_at=now)
        )
        async with self._database.connect(write=True) as connection:
            return (await connection.execute(statement)).rowcount == 1

    async def revoke_session(self, session_id: str, now: int) -> None:
        if self._pg is not None:
            await self._on_postgres(self._pg.execute, _REVOKE_SESSION, session_id, now)
            return
        statement = (
            update(sessions)
            .where(sessions.c.id == session_id, sessions.c.revoked_at.is_(None))
            .values(revoked_at=now)
        )
        async with self._database.connect(write=True) as connection:
            await connection.execute(statement)

    async def set_password_hash(self, user_id: str, expected_hash: str, new_hash: str) -> bool:
        # Compare-and-swap: a hash replaced meanwhile (a password change) stays replaced.
        statement = (
            update(users)
            .where(users.c.id == user_id, users.c.password_hash == expected_hash)
            .values(password_hash=new_hash)
        )
        async with self._database.connect(write=True) as connection:
            return (await connection.execute(statement)).rowcount == 1

    async def replace_password(
        self, user_id: str, password_hash: str, now: int, keep: str | None = None
    ) -> int:
        return await self._new_credentials(user_id, now, keep, password_hash)

    async def list_sessions(self, user_id: str, now: int) -> list[Session]:
        query = (
            select(sessions)
            .join(users, _current_version)
            .where(
                sessions.c.user_id == user_id,
                sessions.c.revoked_at.is_(None),
                sessions.c.expires_at > now,
            )
            .order_by(sessions.c.created_at.desc(), sessions.c.id.desc())
        )
        async with self._database.connect() as connection:
            rows = (await connection.execute(query)).mappings().all()
        return [Session(**row) for row in rows]

    async def revoke_user_sessions(self, user_id: str, now: int, keep: str | None = None) -> int:
        return await self._new_credentials(user_id, now, keep)

    async def _new_credentials(
        self, user_id: str, now: int, keep: str | None, password_hash: str | None = None
    ) -> int:
        changes: dict[str, Any] = {"credential_version": users.c.credential_version + 1}
        if password_hash is not None:
            changes["password_hash"] = password_hash
        # The user's row first, as in add_session: the two take turns, never deadlock.
        bump = (
            update(users)
            .where(users.c.id == user_id)
            .values(**changes)
            .returning(users.c.credential_version)
        )
        revoke = (
            update(sessions)
            .where(sessions.c.user_id == user_id, sessions.c.revoked_at.is_(None))
            .values(revoked_at=now)
        )
        if keep is not None:
            revoke = revoke.where(sessions.c.id != keep)
        async with self._database.connect(write=True) as connection:
            version = (await connection.execute(bump)).scalar_one_or_none()
            if version is None:
                return 0
            revoked = (await connection.execute(revoke)).rowcount
            if keep is not None:
                carry = (
                    update(sessions)
                    .where(
                        sessions.c.id == keep,
                        sessions.c.user_id == user_id,
                        sessions.c.revoked_at.is_(None),
                    )
                    .values(credential_version=version)
                )
                await connection.execute(carry)
        return revoked

    async def count_live_sessions(self, now: int) -> int:
        query = (
            select(func.count())
            .select_from(sessions)
            .join(users, _current_version)
            .where(sessions.c.revoked_at.is_(None), sessions.c.expires_at > now)
        )
        async with self._database.connect() as connection:
            return int((await connection.execute(query)).scalar_one())

    async def purge(self, now: int, batch: int) -> int:
        forgotten = now - KNOWN_ADDRESS_RETENTION_SECONDS
        ended: list[tuple[Table, list[Column[Any]], ColumnElement[bool]]] = [
            (sessions, [sessions.c.id], sessions.c.expires_at <= now),
            (sessions, [sessions.c.id], sessions.c.revoked_at.is_not(None)),
            (throttles, [throttles.c.key], throttles.c.resets_at <= now),
            (
                known_addresses,
                [known_addresses.c.user_id, known_addresses.c.address_key],
                known_addresses.c.last_seen < forgotten,
            ),
        ]
        deleted = 0
        for table, key, condition in ended:
            deleted += await self._delete_batch(table, key, condition, batch)
        return deleted

    async def _delete_batch(
        self, table: Table, key: list[Column[Any]], condition: ColumnElement[bool], batch: int
    ) -> int:
        # Found on a reader, then deleted by key: the search, which may scan the table, holds
        # no write lock (on SQLite, none that would stall every other write). The delete
        # checks the condition again: a counter may have started a new window meanwhile.
        async with self._database.connect() as connection:
            rows = (await connection.execute(select(*key).where(condition).limit(batch))).all()
        if not rows:
            return 0
        matches = (
            key[0].in_([row[0] for row in rows])
            if len(key) == 1
            else tuple_(*key).in_([tuple(row) for row in rows])
        )
        async with self._database.connect(write=True) as connection:
            return (await connection.execute(table.delete().where(matches, condition))).rowcount

    async def hit(self, key: str, window_seconds: int, now: int) -> Hits:
        # One atomic upsert: a new window starts when the old one has ended.
        insert = (sqlite_insert if self._is_sqlite else pg_insert)(throttles)
        expired = throttles.c.resets_at <= now
        statement = (
            insert.values(key=key, count=1, resets_at=now + window_seconds)
            .on_conflict_do_update(
                index_elements=[throttles.c.key],
                set_={
                    "count": case((expired, 1), else_=throttles.c.count + 1),
                    "resets_at": case((expired, now + window_seconds), else_=throttles.c.resets_at),
                },
            )
            .returning(throttles.c.count, throttles.c.resets_at)
        )
        async with self._database.connect(write=True) as connection:
            count, resets_at = (await connection.execute(statement)).one()
        return Hits(count, resets_at)

    async def peek(self, key: str, window_seconds: int, now: int) -> Hits:
        query = select(throttles.c.count, throttles.c.resets_at).where(
            throttles.c.key == key, throttles.c.resets_at > now
        )
        async with self._database.connect() as connection:
            row = (await connection.execute(query)).first()
        return Hits(0, now + window_seconds) if row is None else Hits(row[0], row[1])

    async def clear(self, key: str) -> None:
        async with self._database.connect(write=True) as connection:
            await connection.execute(throttles.delete().where(throttles.c.key == key))

    async def remember_address(self, user_id: str, address_key: str, now: int) -> None:
        insert = (sqlite_insert if self._is_sqlite else pg_insert)(known_addresses)
        statement = insert.values(
            user_id=user_id, address_key=address_key, last_seen=now
        ).on_conflict_do_update(
            index_elements=[known_addresses.c.user_id, known_addresses.c.address_key],
            set_={"last_seen": insert.excluded.last_seen},
        )
        async with self._database.connect(write=True) as connection:
            await connection.execute(statement)

    async def is_known_address(self, user_id: str, address_key: str) -> bool:
        query = select(known_addresses.c.last_seen).where(
            known_addresses.c.user_id == user_id, known_addresses.c.address_key == address_key
        )
        async with self._database.connect() as connection:
            return (await connection.execute(query)).first() is not None

    async def add_task(self, task: Task, max_tasks: int | None = None) -> bool:
        if self._pg is not None:
            return await self._add_task_on_postgres(task, max_tasks)
        if max_tasks is None:
            async with self._database.connect(write=True) as connection:
                await connection.execute(tasks.insert().values(**_row(task)))
            return True
        held = select(func.count()).where(tasks.c.user_id == task.user_id).scalar_subquery()
        insert = tasks.insert().from_select(
            [c.name for c in tasks.columns],
            select(*_literals(tasks, task)).where(held < max_tasks),
        )
        async with self._database.connect(write=True) as connection:
            if not self._is_sqlite:
                # A user's creates take turns on the user's row, so each one counts the tasks
                # that the ones before it added (the count is read after the lock is held).
                await connection.execute(
                    self._lock_user(select(users.c.id).where(users.c.id == task.user_id))
                )
            return (await connection.execute(insert)).rowcount == 1

    async def _add_task_on_postgres(self, task: Task, max_tasks: int | None) -> bool:
        assert self._pg is not None
        values = (
            task.id,
            task.user_id,
            task.title,
            task.description,
            task.completed,
            task.created_at,
            task.updated_at,
        )
        if max_tasks is None:
            await self._on_postgres(self._pg.execute, _ADD_TASK, *values)
            return True

        # As below: the user's row first, then the count, read after the lock is held.
        begin = _begin_locking_user(task.user_id)

        async def steps(connection: Any) -> bool:
            if begin is None:
                await connection.execute(_LOCK_USER, task.user_id)
            added: str = await connection.execute(_ADD_TASK_UNDER_CAP, *values, max_tasks)
            return added == "INSERT 0 1"

        return await self._on_postgres(self._pg.in_transaction, steps, begin or "BEGIN")

    async def get_task(self, user_id: str, task_id: str) -> Task | None:
        query = select(tasks).where(tasks.c.id == task_id, tasks.c.user_id == user_id)
        async with self._database.connect() as connection:
            row = (await connection.execute(query)).mappings().first()
        return None if row is None else _task(row)

    async def list_tasks(
        self,
        user_id: str,
        *,
        limit: int,
        completed: bool | None = None,
        before: tuple[datetime, str] | None = None,
    ) -> TaskPage:
        if self._pg is not None and completed is None and before is None:
            # The first page, unfiltered: what a client asks first and most.
            found = await self._on_postgres(self._pg.fetch, _FIRST_TASKS, user_id, limit + 1)
            return TaskPage(items=[Task(*row) for row in found[:limit]], more=len(found) > limit)
        query = select(tasks).where(tasks.c.user_id == user_id)
        if completed is not None:
            query = query.where(tasks.c.completed == completed)
        if before is not None:
            created_at, task_id = before
            query = query.where(
                or_(
                    tasks.c.created_at < created_at,
                    and_(tasks.c.created_at == created_at, tasks.c.id < task_id),
                )
            )
        query = query.order_by(tasks.c.created_at.desc(), tasks.c.id.desc()).limit(limit + 1)
        async with self._database.connect() as connection:
            rows = (await connection.execute(query)).mappings().all()
        return TaskPage(items=[_task(row) for row in rows[:limit]], more=len(rows) > limit)

    async def update_task(self, task: Task) -> bool:
        statement = (
            update(tasks)
            .where(tasks.c.id == task.id, tasks.c.user_id == task.user_id)
            .values(
                title=task.title,
                description=task.description,
                completed=task.completed,
                updated_at=task.updated_at,
            )
        )
        async with self._database.connect(write=True) as connection:
            return (await connection.execute(statement)).rowcount == 1

    async def delete_task(self, user_id: str, task_id: str) -> bool:
        statement = tasks.delete().where(tasks.c.id == task_id, tasks.c.user_id == user_id)
        async with self._database.connect(write=True) as connection:
            return (await connection.execute(statement)).rowcount == 1

    async def explain_session_lookup(self) -> str:
        """Return the database's plan for the per-request session check (for tests)."""
        if self._is_sqlite:
            sql = "EXPLAIN QUERY PLAN SELECT * FROM sessions WHERE id = :id"
        else:
            sql = "EXPLAIN SELECT * FROM sessions WHERE id = :id"
        async with self._database.connect() as connection:
            rows = (await connection.execute(text(sql), {"id": "x"})).all()
        return "\n".join(str(row[-1]) for row in rows)


# The hot statements, as plain SQL for asyncpg (PostgreSQL only); columns in the order of
# the records' fields.
_SESSION_COLUMNS = (
    "s.id, s.user_id, s.created_at, s.expires_at, s.refresh_hash, s.previous_refresh_hash, "
    "s.rotated_at, s.revoked_at, s.user_agent, s.client_ip, s.credential_version"
)
_SESSION_AND_USER = (
    f"SELECT {_SESSION_COLUMNS}, u.email, u.password_hash, u.created_at, u.credential_version "
    "FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.id = $1"
)
_ROTATE_REFRESH = (
    "UPDATE sessions SET refresh_hash = $3, previous_refresh_hash = $2, rotated_at = $4 "
    "WHERE id = $1 AND refresh_hash = $2 AND revoked_at IS NULL AND expires_at > $4"
)
_REVOKE_SESSION = "UPDATE sessions SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL"
_TASK_COLUMNS = "id, user_id, title, description, completed, created_at, updated_at"
_FIRST_TASKS = (
    f"SELECT {_TASK_COLUMNS} FROM tasks WHERE user_id = $1 "
    "ORDER BY created_at DESC, id DESC LIMIT $2"
)
_ADD_TASK = f"INSERT INTO tasks ({_TASK_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7)"
# FOR NO KEY UPDATE, as in `_lock_user`.
_LOCK_USER = "SELECT 1 FROM users WHERE id = $1 FOR NO KEY UPDATE"
_ADD_TASK_UNDER_CAP = (
    f"INSERT INTO tasks ({_TASK_COLUMNS}) "
    "SELECT $1::varchar, $2::varchar, $3::varchar, $4::text, $5::boolean, "
    "$6::timestamptz, $7::timestamptz "
    "WHERE (SELECT count(*) FROM tasks WHERE user_id = $2) < $8"
)


def _begin_locking_user(user_id: str) -> str | None:
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


def _utc(value: datetime) -> datetime:
    # SQLite hands back naive datetimes; every stored time is UTC.
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _user(row: RowMapping) -> User:
    return User(
        id=row["id"],
        email=row["email"],
        password_hash=row["password_hash"],
        created_at=_utc(row["created_at"]),
        credential_version=row["credential_version"],
    )


def _row(record: User | Session | Task) -> dict[str, Any]:
    return {name: getattr(record, name) for name in type(record).__slots__}


def _literals(table: Table, record: Session | Task) -> list[Any]:
    """Return the record's values as typed SQL literals, for an INSERT ... SELECT."""
    row = _row(record)
    return [literal(row[column.name], column.type).label(column.name) for column in table.columns]


# A session counts only under its user's current credential version.
_current_version = and_(
    users.c.id == sessions.c.user_id,
    users.c.credential_version == sessions.c.credential_version,
)


def _revoke_beyond(new: Session, max_sessions: int) -> Any:
    """Revoke the user's live sessions beyond the newest `max_sessions`, keeping `new`."""
    now = new.created_at
    # `new` is left out of the ranking: a tie on created_at must never rank it out.
    doomed = (
        select(sessions.c.id)
        .where(
            sessions.c.user_id == new.user_id,
            sessions.c.id != new.id,
            sessions.c.revoked_at.is_(None),
            sessions.c.expires_at > now,
        )
        .order_by(sessions.c.created_at.desc(), sessions.c.id.desc())
        .offset(max_sessions - 1)
    )
    return update(sessions).where(sessions.c.id.in_(doomed)).values(revoked_at=now)


def _task(row: RowMapping) -> Task:
    return Task(
        id=row["id"],
        user_id=row["user_id"],
        title=row["title"],
        description=row["description"],
        completed=bool(row["completed"]),
        created_at=_utc(row["created_at"]),
        updated_at=_utc(row["updated_at"]),
    )
