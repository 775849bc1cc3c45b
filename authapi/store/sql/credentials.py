"""A credential change on SQL: one statement sequence that accounts and MFA both run."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncConnection

from authapi.store.schema import known_addresses, sessions, users


async def renew_credentials(
    connection: AsyncConnection,
    user_id: str,
    now: int,
    keep: str | None,
    password_hash: str | None = None,
    *,
    forget_except: str | None = None,
    forget: bool = True,
    only_if: Sequence[Any] = (),
) -> int | None:
    """Bump the user's credential version and revoke every session but `keep`, on `connection`.

    With `forget`, the user's known addresses but `forget_except` go too. Return how many
    sessions were revoked, or None, changing nothing, when there is no such user or a
    condition of `only_if` does not hold: they are checked in the statement that bumps the
    version, the transaction's first write. The caller's transaction makes it one atomic step.
    """
    changes: dict[str, Any] = {"credential_version": users.c.credential_version + 1}
    if password_hash is not None:
        changes["password_hash"] = password_hash
    # The user's row first, as in add_session: the two take turns, never deadlock.
    bump = (
        update(users)
        .where(users.c.id == user_id, *only_if)
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
    version = (await connection.execute(bump)).scalar_one_or_none()
    if version is None:
        return None
    revoked = (await connection.execute(revoke)).rowcount
    if forget:
        # What an attacker's login taught the account goes with the credentials it used.
        forgotten = known_addresses.delete().where(known_addresses.c.user_id == user_id)
        if forget_except is not None:
            forgotten = forgotten.where(known_addresses.c.address_key != forget_except)
        await connection.execute(forgotten)
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
    return int(revoked)
