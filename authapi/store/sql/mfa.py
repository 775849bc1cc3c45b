"""Second factors, recovery codes and login challenges in SQL: the MFA part of `SqlStore`.

Every check-then-act is one conditional statement (the TOTP step's compare-and-set, the
spending of a code or a challenge, the factor cap's counted insert, which also refuses a
single-factor session's enrolment once the user has a second factor), or one transaction that
first locks the user's row on PostgreSQL and opens with a write. SQLite takes its write lock
only at a transaction's first write, so a check read before it may be stale by the insert:
there the check sits inside the statement that writes, or after it.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import exists, func, select, update

from authapi.records import Activity, FactorOutcome, MfaChallenge, TotpFactor
from authapi.store.base import ActivityBounds
from authapi.store.schema import (
    mfa_challenges,
    passkeys,
    recovery_codes,
    sessions,
    totp_factors,
    users,
)
from authapi.store.sql.activity import write_activity
from authapi.store.sql.credentials import renew_credentials
from authapi.store.sql.engine import Database
from authapi.store.sql.rows import Row, literals_of


class SqlMfaStore:
    """Factors, recovery codes and challenges on the store's database."""

    # Set by SqlStore.
    _database: Database
    _is_sqlite: bool
    _activity_bounds: ActivityBounds

    def _lock_user(self, query: Any) -> Any:
        raise NotImplementedError

    async def _lock_user_row(self, connection: Any, user_id: str) -> None:
        # PostgreSQL: the user's writers of factors and codes take turns on the user's row.
        if not self._is_sqlite:
            await connection.execute(
                self._lock_user(select(users.c.id).where(users.c.id == user_id))
            )

    async def add_factor(
        self, factor: TotpFactor, max_factors: int, pending_since: int, *, stepped_up: bool
    ) -> FactorOutcome:
        # One statement checks and inserts, as add_passkey does (SQLite takes its write lock at
        # the insert, whether it inserts or not); on PostgreSQL the user's row is locked first,
        # so her enrolments, confirmations, passkey registrations and removals take turns, and
        # each insert sees the one before.
        live = (
            select(func.count())
            .select_from(totp_factors)
            .where(
                totp_factors.c.user_id == factor.user_id,
                totp_factors.c.confirmed_at.is_not(None)
                | (totp_factors.c.created_at > pending_since),
            )
            .scalar_subquery()
        )
        conditions = [live < max_factors]
        if not stepped_up:
            conditions.append(~_second_factor(factor.user_id))
        row = literals_of(totp_factors, _factor_values(factor))
        insert = totp_factors.insert().from_select(
            [value.name for value in row], select(*row).where(*conditions)
        )
        async with self._database.connect(write=True) as connection:
            await self._lock_user_row(connection, factor.user_id)
            if (await connection.execute(insert)).rowcount == 1:
                return "added"
            # Why, asked in the same transaction: under the same locks, so her second factors
            # are what the insert saw. Past them (or stepped up), only the cap refuses.
            if not stepped_up and await self._has_second_factor(connection, factor.user_id):
                return "step-up"
            return "cap"

    async def get_factor(self, user_id: str, factor_id: str) -> TotpFactor | None:
        query = select(totp_factors).where(
            totp_factors.c.id == factor_id, totp_factors.c.user_id == user_id
        )
        async with self._database.connect() as connection:
            row = (await connection.execute(query)).mappings().first()
        return None if row is None else _factor_from(row)

    async def verified_factors(self, user_id: str) -> list[TotpFactor]:
        query = (
            select(totp_factors)
            .where(totp_factors.c.user_id == user_id, totp_factors.c.confirmed_at.is_not(None))
            .order_by(totp_factors.c.confirmed_at, totp_factors.c.id)
        )
        async with self._database.connect() as connection:
            rows = (await connection.execute(query)).mappings().all()
        return [_factor_from(row) for row in rows]

    async def confirm_factor(
        self,
        user_id: str,
        factor_id: str,
        step: int,
        now: int,
        pending_since: int,
        keep_session: str,
        activity: Activity | None = None,
    ) -> bool:
        confirm = (
            update(totp_factors)
            .where(
                totp_factors.c.id == factor_id,
                totp_factors.c.user_id == user_id,
                totp_factors.c.confirmed_at.is_(None),
                totp_factors.c.created_at > pending_since,
                totp_factors.c.last_used_step < step,
            )
            .values(confirmed_at=now, last_used_step=step, last_used_at=now)
        )
        async with self._database.connect(write=True) as connection:
            # The user's row first, as every credential change takes it.
            await self._lock_user_row(connection, user_id)
            if (await connection.execute(confirm)).rowcount != 1:
                return False
            # The other sessions were single-factor: they end with the old credentials.
            await renew_credentials(connection, user_id, now, keep_session, forget=False)
            await self._write(connection, activity)
        return True

    async def _write(self, connection: Any, activity: Activity | None) -> None:
        # On the connection of the change the event reports: one transaction.
        if activity is not None:
            await write_activity(connection, activity, self._activity_bounds)

    async def use_totp_step(
        self, factor_id: str, step: int, now: int, activity: Activity | None = None
    ) -> bool:
        statement = (
            update(totp_factors)
            .where(
                totp_factors.c.id == factor_id,
                totp_factors.c.confirmed_at.is_not(None),
                totp_factors.c.last_used_step < step,
            )
            .values(last_used_step=step, last_used_at=now)
        )
        async with self._database.connect(write=True) as connection:
            if (await connection.execute(statement)).rowcount != 1:
                return False
            await self._write(connection, activity)
        return True

    async def delete_factor(
        self, user_id: str, factor_id: str, activity: Activity | None = None
    ) -> bool:
        delete = totp_factors.delete().where(
            totp_factors.c.id == factor_id, totp_factors.c.user_id == user_id
        )
        async with self._database.connect(write=True) as connection:
            await self._lock_user_row(connection, user_id)
            # Deleted first, then counted: on SQLite the delete takes the write lock, so of two
            # removals racing (a factor's and a passkey's too), the second counts after the
            # first has committed.
            if (await connection.execute(delete)).rowcount != 1:
                return False
            if not await self._has_second_factor(connection, user_id):
                await self._lose_second_factor(connection, user_id)
            await self._write(connection, activity)
        return True

    async def _has_second_factor(self, connection: Any, user_id: str) -> bool:
        # A verified factor or a passkey: the recovery codes and the sessions' aal2 need one.
        query = select(_second_factor(user_id))
        return bool((await connection.execute(query)).scalar_one())

    def _second_factor_condition(self, user_id: str) -> Any:
        # For the statements of the other parts that check it (a password change's).
        return _second_factor(user_id)

    async def _lose_second_factor(self, connection: Any, user_id: str) -> None:
        # In the transaction of the removal that took the last second factor.
        await connection.execute(recovery_codes.delete().where(recovery_codes.c.user_id == user_id))
        await connection.execute(
            update(sessions).where(sessions.c.user_id == user_id).values(acr="aal1", amr="pwd")
        )

    async def add_recovery_codes_if_none(self, user_id: str, hashes: list[str], now: int) -> bool:
        # The first code's insert claims the set, in one statement with its conditions: none
        # held yet, and a verified factor still there (a removal may have come between the
        # confirmation and this). On SQLite it takes the write lock, so the rest follow it.
        first, *rest = _code_rows(user_id, hashes, now)
        row = literals_of(recovery_codes, first)
        held = exists().where(recovery_codes.c.user_id == user_id)
        verified = exists().where(
            totp_factors.c.user_id == user_id, totp_factors.c.confirmed_at.is_not(None)
        )
        claim = recovery_codes.insert().from_select(
            [value.name for value in row], select(*row).where(~held, verified)
        )
        async with self._database.connect(write=True) as connection:
            await self._lock_user_row(connection, user_id)
            if (await connection.execute(claim)).rowcount != 1:
                return False
            if rest:
                await connection.execute(recovery_codes.insert(), rest)
        return True

    async def replace_recovery_codes(
        self, user_id: str, hashes: list[str], now: int, activity: Activity | None = None
    ) -> bool:
        # The first code's insert carries the condition (a second factor left), after the
        # delete: on SQLite the delete takes the write lock, so a removal racing this one
        # either came before the check or comes after the insert and takes the new set too.
        # With no second factor there were no codes to delete.
        first, *rest = _code_rows(user_id, hashes, now)
        row = literals_of(recovery_codes, first)
        claim = recovery_codes.insert().from_select(
            [value.name for value in row], select(*row).where(_second_factor(user_id))
        )
        async with self._database.connect(write=True) as connection:
            await self._lock_user_row(connection, user_id)
            await connection.execute(
                recovery_codes.delete().where(recovery_codes.c.user_id == user_id)
            )
            if (await connection.execute(claim)).rowcount != 1:
                return False
            if rest:
                await connection.execute(recovery_codes.insert(), rest)
            await self._write(connection, activity)
        return True

    async def has_recovery_codes(self, user_id: str) -> bool:
        query = select(exists().where(recovery_codes.c.user_id == user_id))
        async with self._database.connect() as connection:
            return bool((await connection.execute(query)).scalar_one())

    async def use_recovery_code(
        self, user_id: str, hashes: tuple[str, ...], activity: Activity | None = None
    ) -> bool:
        # One delete: of two requests with one code, only one deletes the row.
        statement = recovery_codes.delete().where(
            recovery_codes.c.user_id == user_id, recovery_codes.c.code_hash.in_(hashes)
        )
        async with self._database.connect(write=True) as connection:
            if (await connection.execute(statement)).rowcount < 1:
                return False
            await self._write(connection, activity)
        return True

    async def add_challenge(self, challenge: MfaChallenge) -> None:
        values = {
            "token_hash": challenge.token_hash,
            "user_id": challenge.user_id,
            "kind": challenge.kind,
            "credential_version": challenge.credential_version,
            "expires_at": challenge.expires_at,
            "attempts": challenge.attempts,
        }
        async with self._database.connect(write=True) as connection:
            await connection.execute(mfa_challenges.insert().values(**values))

    async def get_challenge(self, token_hash: str) -> MfaChallenge | None:
        query = select(mfa_challenges).where(mfa_challenges.c.token_hash == token_hash)
        async with self._database.connect() as connection:
            row = (await connection.execute(query)).mappings().first()
        return None if row is None else _challenge_from(row)

    async def count_challenge_attempt(
        self, token_hash: str, max_attempts: int, now: int
    ) -> MfaChallenge | None:
        # The count and the limit are one statement: parallel codes get no more tries.
        statement = (
            update(mfa_challenges)
            .where(
                mfa_challenges.c.token_hash == token_hash,
                mfa_challenges.c.expires_at > now,
                mfa_challenges.c.attempts < max_attempts,
            )
            .values(attempts=mfa_challenges.c.attempts + 1)
            .returning(*mfa_challenges.columns)
        )
        async with self._database.connect(write=True) as connection:
            row = (await connection.execute(statement)).mappings().first()
        return None if row is None else _challenge_from(row)

    async def spend_challenge(self, token_hash: str) -> bool:
        statement = mfa_challenges.delete().where(mfa_challenges.c.token_hash == token_hash)
        async with self._database.connect(write=True) as connection:
            return (await connection.execute(statement)).rowcount == 1


def _second_factor(user_id: str) -> Any:
    return exists().where(
        totp_factors.c.user_id == user_id, totp_factors.c.confirmed_at.is_not(None)
    ) | exists().where(passkeys.c.user_id == user_id)


def _factor_values(factor: TotpFactor) -> dict[str, Any]:
    return {name: getattr(factor, name) for name in TotpFactor.__slots__}


def _factor_from(row: Row) -> TotpFactor:
    return TotpFactor(*(row[name] for name in TotpFactor.__slots__))


def _challenge_from(row: Row) -> MfaChallenge:
    return MfaChallenge(*(row[name] for name in MfaChallenge.__slots__))


def _code_rows(user_id: str, hashes: list[str], now: int) -> list[dict[str, Any]]:
    return [{"user_id": user_id, "code_hash": code_hash, "created_at": now} for code_hash in hashes]
