"""Passkeys, user handles and WebAuthn challenges in SQL: the passkey part of `SqlStore`.

The counter moves by one conditional UPDATE (compare-and-set), a challenge is taken by one
DELETE ... RETURNING, and the cap (with a single-factor session's registration refused
once the user has a second factor), the last-passkey rule and the recovery codes' going
with the last second factor hold in one transaction that first locks the user's row on
PostgreSQL (SQLite has one writer at a time).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy import exists, func, literal, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError

from authapi.errors import LastPasskey
from authapi.records import (
    Activity,
    ChallengePurpose,
    Passkey,
    PasskeyOutcome,
    WebauthnChallenge,
)
from authapi.store.schema import (
    passkeys,
    totp_factors,
    users,
    webauthn_challenges,
    webauthn_user_handles,
)
from authapi.store.sql.engine import Database
from authapi.store.sql.rows import Row


class SqlPasskeyStore:
    """Passkeys, handles and challenges on the store's database."""

    # Set by SqlStore.
    _database: Database
    _is_sqlite: bool

    # SqlMfaStore's, declared only (a definition here would shadow them).
    _lock_user_row: Callable[[Any, str], Awaitable[None]]
    _write: Callable[[Any, Activity | None], Awaitable[None]]
    _has_second_factor: Callable[[Any, str], Awaitable[bool]]
    _lose_second_factor: Callable[[Any, str], Awaitable[None]]

    async def user_handle(self, user_id: str, candidate: str) -> str:
        insert = (sqlite_insert if self._is_sqlite else pg_insert)(webauthn_user_handles)
        keep = insert.values(user_id=user_id, handle=candidate).on_conflict_do_nothing(
            index_elements=[webauthn_user_handles.c.user_id]
        )
        read = select(webauthn_user_handles.c.handle).where(
            webauthn_user_handles.c.user_id == user_id
        )
        async with self._database.connect(write=True) as connection:
            await connection.execute(keep)
            handle: str = (await connection.execute(read)).scalar_one()
        return handle

    async def passkeys_of(self, user_id: str) -> list[Passkey]:
        query = (
            select(passkeys)
            .where(passkeys.c.user_id == user_id)
            .order_by(passkeys.c.created_at, passkeys.c.id)
        )
        async with self._database.connect() as connection:
            rows = (await connection.execute(query)).mappings().all()
        return [_passkey_from(row) for row in rows]

    async def find_passkey(self, credential_id: str) -> tuple[Passkey, str] | None:
        query = (
            select(passkeys, webauthn_user_handles.c.handle)
            .select_from(
                passkeys.outerjoin(
                    webauthn_user_handles, webauthn_user_handles.c.user_id == passkeys.c.user_id
                )
            )
            .where(passkeys.c.credential_id == credential_id)
        )
        async with self._database.connect() as connection:
            row = (await connection.execute(query)).mappings().first()
        return None if row is None else (_passkey_from(row), row["handle"] or "")

    async def add_passkey(
        self,
        passkey: Passkey,
        max_passkeys: int,
        activity: Activity | None = None,
        *,
        stepped_up: bool,
    ) -> PasskeyOutcome:
        # One statement checks and inserts (SQLite takes its write lock at the insert, whether
        # it inserts or not); on PostgreSQL the user's row is locked first, so her
        # registrations, enrolments, confirmations and removals take turns, and each insert
        # sees the one before.
        user_id = passkey.user_id
        taken = exists().where(passkeys.c.credential_id == passkey.credential_id)
        held = select(func.count()).where(passkeys.c.user_id == user_id).scalar_subquery()
        verified = exists().where(
            totp_factors.c.user_id == user_id, totp_factors.c.confirmed_at.is_not(None)
        )
        conditions = [~taken, held < max_passkeys]
        if not stepped_up:
            conditions += [held == 0, ~verified]
        values = _passkey_values(passkey)
        insert = passkeys.insert().from_select(
            list(values),
            select(
                *(literal(values[name], passkeys.c[name].type).label(name) for name in values)
            ).where(*conditions),
        )
        try:
            async with self._database.connect(write=True) as connection:
                await self._lock_user_row(connection, user_id)
                if (await connection.execute(insert)).rowcount != 1:
                    # Why, asked in the same transaction: under the same locks, so the count and
                    # her factors are what the insert saw.
                    reasons = select(taken, held, verified)
                    is_taken, count, has_factor = (await connection.execute(reasons)).one()
                    if not is_taken:
                        if count >= max_passkeys:
                            return "cap"
                        if not stepped_up and (count or has_factor):
                            return "step-up"
                    # Taken; or taken when the insert ran and removed since, which only another
                    # user can do (her own removals wait for her row).
                    return "taken"
                await self._write(connection, activity)
        except IntegrityError:
            # The unique credential id: another user's registration of it committed between
            # this insert's check and its write.
            return "taken"
        return "added"

    async def use_passkey(
        self,
        passkey_id: str,
        expected_count: int,
        sign_count: int,
        backed_up: bool,
        now: int,
        activity: Activity | None = None,
    ) -> bool:
        statement = (
            update(passkeys)
            .where(passkeys.c.id == passkey_id, passkeys.c.sign_count == expected_count)
            .values(sign_count=sign_count, backed_up=backed_up, last_used_at=now)
        )
        async with self._database.connect(write=True) as connection:
            if (await connection.execute(statement)).rowcount != 1:
                return False
            await self._write(connection, activity)
        return True

    async def rename_passkey(self, user_id: str, passkey_id: str, name: str) -> Passkey | None:
        statement = (
            update(passkeys)
            .where(passkeys.c.id == passkey_id, passkeys.c.user_id == user_id)
            .values(name=name)
            .returning(*passkeys.columns)
        )
        async with self._database.connect(write=True) as connection:
            row = (await connection.execute(statement)).mappings().first()
        return None if row is None else _passkey_from(row)

    async def delete_passkey(
        self, user_id: str, passkey_id: str, activity: Activity | None = None
    ) -> bool:
        delete = passkeys.delete().where(passkeys.c.id == passkey_id, passkeys.c.user_id == user_id)
        left = select(func.count()).select_from(passkeys).where(passkeys.c.user_id == user_id)
        password = select(users.c.password_hash).where(users.c.id == user_id)
        async with self._database.connect(write=True) as connection:
            await self._lock_user_row(connection, user_id)
            # Deleted first, then counted: on SQLite the delete takes the write lock, so the
            # count is this transaction's own; raising rolls the delete back.
            if (await connection.execute(delete)).rowcount != 1:
                return False
            if (await connection.execute(left)).scalar_one() == 0:
                if not (await connection.execute(password)).scalar_one_or_none():
                    raise LastPasskey()
                if not await self._has_second_factor(connection, user_id):
                    await self._lose_second_factor(connection, user_id)
            await self._write(connection, activity)
        return True

    async def add_webauthn_challenge(self, challenge: WebauthnChallenge) -> None:
        values = {name: getattr(challenge, name) for name in WebauthnChallenge.__slots__}
        async with self._database.connect(write=True) as connection:
            await connection.execute(webauthn_challenges.insert().values(**values))

    async def take_webauthn_challenge(
        self,
        challenge_id: str,
        purpose: ChallengePurpose,
        now: int,
        user_id: str | None = None,
        mfa_token_hash: str | None = None,
    ) -> WebauthnChallenge | None:
        # One statement finds and deletes it: of two verifies with one challenge, one wins.
        table = webauthn_challenges
        statement = (
            table.delete()
            .where(
                table.c.id == challenge_id,
                table.c.purpose == purpose,
                table.c.expires_at > now,
                table.c.user_id.is_(None) if user_id is None else table.c.user_id == user_id,
                table.c.mfa_token_hash.is_(None)
                if mfa_token_hash is None
                else table.c.mfa_token_hash == mfa_token_hash,
            )
            .returning(*table.columns)
        )
        async with self._database.connect(write=True) as connection:
            row = (await connection.execute(statement)).mappings().first()
        return (
            None
            if row is None
            else WebauthnChallenge(*(row[name] for name in WebauthnChallenge.__slots__))
        )


def _passkey_values(passkey: Passkey) -> dict[str, Any]:
    return {name: getattr(passkey, name) for name in Passkey.__slots__}


def _passkey_from(row: Row) -> Passkey:
    return Passkey(*(row[name] for name in Passkey.__slots__))
