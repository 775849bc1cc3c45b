"""The store on SQLAlchemy Core: SQLite for one node, PostgreSQL for many workers.

Atomicity comes from the database itself: a unique constraint for registration and
conditional `UPDATE ... WHERE` statements for rotation and revocation, so it holds
across workers and machines. The hot paths (the session check of every authenticated
request, rotation, revocation, the first page of tasks and task creation) go through
`hot`, in the spelling the backend runs fastest: prepared statements on asyncpg for
PostgreSQL, SQLAlchemy for SQLite.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from sqlalchemy import (
    and_,
    case,
    exists,
    func,
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
from authapi.records import Activity, Assurance, Hits, PasswordOutcome, Session, User
from authapi.store.base import (
    DEFAULT_ACTIVITY_BOUNDS,
    KNOWN_ADDRESS_RETENTION_SECONDS,
    PENDING_FACTOR_SECONDS,
    ActivityBounds,
)
from authapi.store.schema import (
    activity,
    known_addresses,
    mfa_challenges,
    sessions,
    throttles,
    totp_factors,
    users,
    webauthn_challenges,
)
from authapi.store.sql.activity import SqlActivityStore, write_activity
from authapi.store.sql.credentials import renew_credentials
from authapi.store.sql.engine import Database
from authapi.store.sql.hot import (
    AlchemyHotStatements,
    AsyncpgHotStatements,
    HotStatements,
    revoke_session_statement,
)
from authapi.store.sql.mfa import SqlMfaStore
from authapi.store.sql.passkeys import SqlPasskeyStore
from authapi.store.sql.rows import as_literals, session_from, user_from, values_of
from authapi.store.sql.tasks import SqlTaskStore


class SqlStore(SqlTaskStore, SqlActivityStore, SqlMfaStore, SqlPasskeyStore):
    """Keep users, sessions and tasks in SQLite (one node) or PostgreSQL (many workers)."""

    def __init__(
        self,
        storage_url: str,
        pool_size: int = 10,
        activity: ActivityBounds = DEFAULT_ACTIVITY_BOUNDS,
    ) -> None:
        self._database = Database(storage_url, pool_size)
        self._activity_bounds = activity
        self._is_sqlite = self._database.is_sqlite
        # Chosen once: asyncpg's connections of their own on PostgreSQL, in the same turns
        # as the engine's; the engine itself on SQLite, where SQLAlchemy costs little.
        self._hot: HotStatements = (
            AlchemyHotStatements(self._database)
            if self._is_sqlite
            else AsyncpgHotStatements(self._database)
        )

    async def open(self) -> None:
        await self._database.open()

    async def ping(self) -> None:
        await self._database.ping()
        await self._hot.ping()

    async def close(self) -> None:
        await self._hot.close()
        await self._database.close()

    async def add_user(self, user: User) -> None:
        try:
            async with self._database.connect(write=True) as connection:
                await connection.execute(users.insert().values(**values_of(user)))
        except IntegrityError:
            raise EmailTaken() from None

    async def get_user(self, user_id: str) -> User | None:
        return await self._one_user(users.c.id == user_id)

    async def get_user_by_email(self, email: str) -> User | None:
        return await self._one_user(users.c.email == email)

    async def _one_user(self, condition: Any) -> User | None:
        async with self._database.connect() as connection:
            row = (await connection.execute(select(users).where(condition))).mappings().first()
        return None if row is None else user_from(row)

    async def add_session(
        self, session: Session, max_sessions: int | None = None, activity: Activity | None = None
    ) -> bool:
        # Inserted only if the user's credential version is still the session's. On
        # PostgreSQL the user's row is locked too, so a password change or a logout-all
        # either commits first (and nothing is inserted) or waits, then revokes this session.
        # SQLite has one writer at a time, so its statements never interleave anyway.
        # Its place in the user's order, one past the highest: logins within one second keep
        # theirs. Two logins racing on PostgreSQL may both read the same highest and tie;
        # both still rank above every older session, which is all the cap needs.
        seq = (
            select(func.coalesce(func.max(sessions.c.seq), 0) + 1)
            .where(sessions.c.user_id == session.user_id)
            .scalar_subquery()
        )
        values = [*as_literals(sessions, session), seq.label("seq")]
        found = self._lock_user(
            select(*values).where(
                users.c.id == session.user_id,
                users.c.credential_version == session.credential_version,
            )
        )
        insert = sessions.insert().from_select([value.name for value in values], found)
        async with self._database.connect(write=True) as connection:
            if (await connection.execute(insert)).rowcount != 1:
                return False
            if max_sessions is not None:
                await connection.execute(_revoke_beyond(session, max_sessions))
            if activity is not None:
                await write_activity(connection, activity, self._activity_bounds)
        return True

    def _lock_user(self, query: Any) -> Any:
        # FOR NO KEY UPDATE: it waits for a credential change on the row, and for another
        # writer of the user's sessions or tasks, but not for inserts that reference the row.
        return query if self._is_sqlite else query.with_for_update(key_share=True)

    async def get_session(self, session_id: str) -> Session | None:
        async with self._database.connect() as connection:
            query = select(sessions).where(sessions.c.id == session_id)
            row = (await connection.execute(query)).mappings().first()
        return None if row is None else session_from(row)

    async def get_session_and_user(self, session_id: str) -> tuple[Session, User] | None:
        # Every authenticated request asks this.
        return await self._hot.session_and_user(session_id)

    async def rotate_refresh(
        self, session_id: str, expected_hash: str, new_hash: str, now: int
    ) -> bool:
        return await self._hot.rotate_refresh(session_id, expected_hash, new_hash, now)

    async def revoke_session(
        self, session_id: str, now: int, activity: Activity | None = None
    ) -> None:
        if activity is None:
            await self._hot.revoke_session(session_id, now)
            return
        # With its event, in one transaction: written only if this statement revoked it.
        async with self._database.connect(write=True) as connection:
            revoked = await connection.execute(revoke_session_statement(session_id, now))
            if revoked.rowcount == 1:
                await write_activity(connection, activity, self._activity_bounds)

    async def reassure_session(
        self, session_id: str, assurance: Assurance, now: int, new_refresh_hash: str | None
    ) -> bool:
        changes: dict[str, Any] = {
            "acr": assurance.acr,
            "amr": " ".join(assurance.amr),
            "auth_time": assurance.auth_time,
        }
        if new_refresh_hash is not None:
            changes.update(
                refresh_hash=new_refresh_hash,
                previous_refresh_hash=sessions.c.refresh_hash,
                rotated_at=now,
            )
        statement = (
            update(sessions)
            .where(
                sessions.c.id == session_id,
                sessions.c.revoked_at.is_(None),
                sessions.c.expires_at > now,
            )
            .values(**changes)
        )
        async with self._database.connect(write=True) as connection:
            return (await connection.execute(statement)).rowcount == 1

    async def set_password_hash(
        self, user_id: str, expected_hash: str, new_hash: str, activity: Activity | None = None
    ) -> bool:
        # Compare-and-swap: a hash replaced meanwhile (a password change) stays replaced.
        statement = (
            update(users)
            .where(users.c.id == user_id, users.c.password_hash == expected_hash)
            .values(password_hash=new_hash)
        )
        async with self._database.connect(write=True) as connection:
            if (await connection.execute(statement)).rowcount != 1:
                return False
            if activity is not None:
                await write_activity(connection, activity, self._activity_bounds)
            return True

    async def replace_password(
        self,
        user_id: str,
        password_hash: str,
        now: int,
        keep: str | None = None,
        keep_address: str | None = None,
        activity: Activity | None = None,
        *,
        stepped_up: bool,
    ) -> tuple[PasswordOutcome, int]:
        # The checks are conditions of the statement that bumps the version: on SQLite its
        # write lock is taken at that statement, whether it changes the row or not. On
        # PostgreSQL the user's row is locked first, which her confirmations, passkey
        # registrations and logout-alls take too, and then the caller's session's row, which a
        # logout or a session's end takes: each of them commits before the checks read, or
        # waits for the change to commit.
        live = exists().where(
            sessions.c.id == keep,
            sessions.c.user_id == user_id,
            sessions.c.revoked_at.is_(None),
            sessions.c.expires_at > now,
        )
        conditions = [] if keep is None else [live]
        if not stepped_up:
            conditions.append(~self._second_factor_condition(user_id))
        async with self._database.connect(write=True) as connection:
            await self._lock_user_row(connection, user_id)
            if keep is not None and not self._is_sqlite:
                session_row = select(sessions.c.id).where(sessions.c.id == keep)
                await connection.execute(session_row.with_for_update(key_share=True))
            revoked = await renew_credentials(
                connection,
                user_id,
                now,
                keep,
                password_hash,
                forget_except=keep_address,
                only_if=conditions,
            )
            if revoked is None:
                # Why, asked in the same transaction, under the same locks: what the bump saw.
                held = select(live, self._second_factor_condition(user_id))
                is_live, has_factor = (await connection.execute(held)).one()
                if keep is not None and not is_live:
                    return "session-ended", 0
                if not stepped_up and has_factor:
                    return "step-up", 0
                # No such user: nothing to change, as a logout-all of nobody changes nothing.
                return "changed", 0
            if activity is not None:
                counted = dataclasses.replace(activity, count=revoked)
                await write_activity(connection, counted, self._activity_bounds)
        return "changed", revoked

    async def list_sessions(self, user_id: str, now: int) -> list[Session]:
        query = (
            select(sessions)
            .join(users, _current_version)
            .where(
                sessions.c.user_id == user_id,
                sessions.c.revoked_at.is_(None),
                sessions.c.expires_at > now,
            )
            .order_by(*_newest_first)
        )
        async with self._database.connect() as connection:
            rows = (await connection.execute(query)).mappings().all()
        return [session_from(row) for row in rows]

    async def revoke_user_sessions(
        self,
        user_id: str,
        now: int,
        keep: str | None = None,
        keep_address: str | None = None,
        activity: Activity | None = None,
    ) -> int:
        return await self._new_credentials(user_id, now, keep, keep_address, activity=activity)

    async def _new_credentials(
        self,
        user_id: str,
        now: int,
        keep: str | None,
        keep_address: str | None,
        password_hash: str | None = None,
        activity: Activity | None = None,
    ) -> int:
        async with self._database.connect(write=True) as connection:
            revoked = await renew_credentials(
                connection, user_id, now, keep, password_hash, forget_except=keep_address
            )
            if revoked is None:
                return 0
            if activity is not None:
                counted = dataclasses.replace(activity, count=revoked)
                await write_activity(connection, counted, self._activity_bounds)
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
        expired = now - self._activity_bounds.retention_seconds
        ended: list[tuple[Table, list[Column[Any]], ColumnElement[bool]]] = [
            (sessions, [sessions.c.id], sessions.c.expires_at <= now),
            (sessions, [sessions.c.id], sessions.c.revoked_at.is_not(None)),
            (throttles, [throttles.c.key], throttles.c.resets_at <= now),
            (
                known_addresses,
                [known_addresses.c.user_id, known_addresses.c.address_key],
                known_addresses.c.last_seen < forgotten,
            ),
            (activity, [activity.c.seq], activity.c.occurred_at < expired),
            (
                totp_factors,
                [totp_factors.c.id],
                totp_factors.c.confirmed_at.is_(None)
                & (totp_factors.c.created_at <= now - PENDING_FACTOR_SECONDS),
            ),
            (mfa_challenges, [mfa_challenges.c.token_hash], mfa_challenges.c.expires_at <= now),
            (
                webauthn_challenges,
                [webauthn_challenges.c.id],
                webauthn_challenges.c.expires_at <= now,
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

    async def hit(self, key: str, window_seconds: int, now: int, by: int = 1) -> Hits:
        # One atomic upsert: a new window starts when the old one has ended.
        insert = (sqlite_insert if self._is_sqlite else pg_insert)(throttles)
        expired = throttles.c.resets_at <= now
        statement = (
            insert.values(key=key, count=by, resets_at=now + window_seconds)
            .on_conflict_do_update(
                index_elements=[throttles.c.key],
                set_={
                    "count": case((expired, by), else_=throttles.c.count + by),
                    "resets_at": case((expired, now + window_seconds), else_=throttles.c.resets_at),
                },
            )
            .returning(throttles.c.count, throttles.c.resets_at)
        )
        async with self._database.connect(write=True) as connection:
            count, resets_at = (await connection.execute(statement)).one()
        return Hits(count, resets_at)

    async def unhit(self, key: str, hits: Hits) -> None:
        # One conditional update: the window that counted the hit, and never below zero.
        statement = (
            update(throttles)
            .where(
                throttles.c.key == key,
                throttles.c.resets_at == hits.resets_at,
                throttles.c.count > 0,
            )
            .values(count=throttles.c.count - 1)
        )
        async with self._database.connect(write=True) as connection:
            await connection.execute(statement)

    async def peek(self, key: str, window_seconds: int, now: int) -> Hits:
        query = select(throttles.c.count, throttles.c.resets_at).where(
            throttles.c.key == key, throttles.c.resets_at > now
        )
        async with self._database.connect() as connection:
            row = (await connection.execute(query)).first()
        return Hits(0, now + window_seconds) if row is None else Hits(row[0], row[1])

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

    async def explain_session_lookup(self) -> str:
        """Return the database's plan for the per-request session check (for tests)."""
        if self._is_sqlite:
            sql = "EXPLAIN QUERY PLAN SELECT * FROM sessions WHERE id = :id"
        else:
            sql = "EXPLAIN SELECT * FROM sessions WHERE id = :id"
        async with self._database.connect() as connection:
            rows = (await connection.execute(text(sql), {"id": "x"})).all()
        return "\n".join(str(row[-1]) for row in rows)


# A session counts only under its user's current credential version.
_current_version = and_(
    users.c.id == sessions.c.user_id,
    users.c.credential_version == sessions.c.credential_version,
)


# A user's sessions, newest first: by their place in the user's order, then (for rows from
# before `seq`, all 0) by when they began.
_newest_first = (sessions.c.seq.desc(), sessions.c.created_at.desc(), sessions.c.id.desc())


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
        .order_by(*_newest_first)
        .offset(max_sessions - 1)
    )
    return update(sessions).where(sessions.c.id.in_(doomed)).values(revoked_at=now)
