"""A credential change forgets the account's known addresses, but the caller's, at once."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from authapi.records import User
from authapi.store import Store
from authapi.store.base import KNOWN_ADDRESS_RETENTION_SECONDS

NOW = 1_700_000_000


def a_user(email: str) -> User:
    return User(
        id=str(uuid.uuid4()),
        email=email,
        password_hash="$2b$04$hash",
        created_at=datetime.fromtimestamp(NOW, UTC),
    )


async def _change(store: Store, how: str, user: User, keep_address: str | None) -> None:
    if how == "password":
        await store.replace_password(
            user.id, "$2b$04$new", NOW, keep_address=keep_address, stepped_up=False
        )
    else:
        await store.revoke_user_sessions(user.id, NOW, keep_address=keep_address)


@pytest.mark.parametrize("how", ["password", "logout_all"])
async def test_a_credential_change_forgets_every_address_but_the_callers(
    store: Store, how: str
) -> None:
    ada, bob = a_user("ada@example.com"), a_user("bob@example.com")
    for user in (ada, bob):
        await store.add_user(user)
        for address in ("addr:home", "addr:phisher"):
            await store.remember_address(user.id, address, NOW)
    await _change(store, how, ada, "addr:home")
    assert await store.is_known_address(ada.id, "addr:home")
    assert not await store.is_known_address(ada.id, "addr:phisher")
    # Another account's addresses are its own.
    assert await store.is_known_address(bob.id, "addr:phisher")
    await _change(store, how, ada, None)
    assert not await store.is_known_address(ada.id, "addr:home")


async def test_a_forgotten_address_can_be_learned_again_and_purged(store: Store) -> None:
    ada = a_user("ada@example.com")
    await store.add_user(ada)
    await store.remember_address(ada.id, "addr:phisher", NOW)
    await store.remember_address(ada.id, "addr:home", NOW)
    await store.replace_password(
        ada.id, "$2b$04$new", NOW, keep_address="addr:home", stepped_up=False
    )
    await store.remember_address(ada.id, "addr:phisher", NOW + 1)
    assert await store.is_known_address(ada.id, "addr:phisher")
    later = NOW + 2 + KNOWN_ADDRESS_RETENTION_SECONDS
    assert await store.purge(later, 100) == 2
    assert not await store.is_known_address(ada.id, "addr:home")
    assert not await store.is_known_address(ada.id, "addr:phisher")
