"""A session's assurance (acr, amr, auth_time) survives the store; a reassurance moves it."""

from __future__ import annotations

import dataclasses
import uuid
from datetime import UTC, datetime

from authapi.records import WITH_TOTP, Assurance, Session, User
from authapi.store import Store

NOW = 1_700_000_000


def a_user() -> User:
    return User(
        id=str(uuid.uuid4()),
        email="ada@example.com",
        password_hash="$2b$04$hash",
        created_at=datetime.fromtimestamp(NOW, UTC),
    )


def a_session(user: User, **fields: object) -> Session:
    session = Session(
        id=str(uuid.uuid4()),
        user_id=user.id,
        created_at=NOW,
        expires_at=NOW + 3600,
        refresh_hash="h0",
        auth_time=NOW,
    )
    return dataclasses.replace(session, **fields)  # type: ignore[arg-type]


async def test_a_sessions_assurance_is_stored_and_read_back_by_every_lookup(store: Store) -> None:
    user = a_user()
    await store.add_user(user)
    session = a_session(user, acr="aal2", amr=WITH_TOTP, auth_time=NOW - 5)
    assert await store.add_session(session)
    stored = await store.get_session(session.id)
    found = await store.get_session_and_user(session.id)
    listed = await store.list_sessions(user.id, NOW)
    for read in (stored, found[0] if found else None, listed[0]):
        assert read is not None
        assert read.assurance == Assurance("aal2", WITH_TOTP, NOW - 5)


async def test_a_reassurance_raises_the_level_and_rotates_an_api_sessions_refresh_hash(
    store: Store,
) -> None:
    user = a_user()
    await store.add_user(user)
    session = a_session(user)
    assert await store.add_session(session)
    raised = Assurance("aal2", WITH_TOTP, NOW + 10)
    assert await store.reassure_session(session.id, raised, NOW + 10, "h1")
    stored = await store.get_session(session.id)
    assert stored is not None and stored.assurance == raised
    assert (stored.refresh_hash, stored.previous_refresh_hash) == ("h1", "h0")
    assert stored.rotated_at == NOW + 10


async def test_a_reassurance_without_a_hash_leaves_the_refresh_chain_alone(store: Store) -> None:
    user = a_user()
    await store.add_user(user)
    session = a_session(user, kind="browser")
    assert await store.add_session(session)
    assert await store.reassure_session(session.id, Assurance("aal2", WITH_TOTP, NOW), NOW, None)
    stored = await store.get_session(session.id)
    assert stored is not None and stored.acr == "aal2"
    assert (stored.refresh_hash, stored.previous_refresh_hash) == ("h0", None)


async def test_a_revoked_or_expired_session_is_never_reassured(store: Store) -> None:
    user = a_user()
    await store.add_user(user)
    revoked, expired = a_session(user), a_session(user, expires_at=NOW + 5)
    for session in (revoked, expired):
        assert await store.add_session(session)
    await store.revoke_session(revoked.id, NOW)
    raised = Assurance("aal2", WITH_TOTP, NOW + 10)
    assert not await store.reassure_session(revoked.id, raised, NOW + 10, "h1")
    assert not await store.reassure_session(expired.id, raised, NOW + 10, "h1")
    for session in (revoked, expired):
        stored = await store.get_session(session.id)
        assert stored is not None and stored.acr == "aal1" and stored.refresh_hash == "h0"
