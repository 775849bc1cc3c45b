"""A session's kind survives the store, and a user's sessions keep the order they were added in."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from authapi.records import Session, SessionKind, User
from authapi.store import Store

NOW = 1_700_000_000


def a_user() -> User:
    return User(
        id=str(uuid.uuid4()),
        email="ada@example.com",
        password_hash="$2b$04$hash",
        created_at=datetime.fromtimestamp(NOW, UTC),
    )


def a_session(user: User, number: int, kind: SessionKind = "api") -> Session:
    # Ids that fall as sessions are added, and one shared second: nothing but the order of
    # adding tells which is newest.
    return Session(
        id=str(uuid.UUID(int=2**128 - 1 - number)),
        user_id=user.id,
        created_at=NOW,
        expires_at=NOW + 3600,
        refresh_hash="h0",
        kind=kind,
    )


async def test_a_sessions_kind_is_stored_and_read_back(store: Store) -> None:
    user = a_user()
    await store.add_user(user)
    api, browser = a_session(user, 0), a_session(user, 1, "browser")
    for session in (api, browser):
        assert await store.add_session(session)
    stored_api = await store.get_session(api.id)
    stored_browser = await store.get_session(browser.id)
    assert stored_api is not None and stored_api.kind == "api"
    assert stored_browser is not None and stored_browser.kind == "browser"
    found = await store.get_session_and_user(browser.id)
    assert found is not None and found[0].kind == "browser"
    assert {s.kind for s in await store.list_sessions(user.id, NOW)} == {"api", "browser"}


async def test_the_cap_ends_the_oldest_sessions_within_one_second(store: Store) -> None:
    user = a_user()
    await store.add_user(user)
    sessions = [a_session(user, number) for number in range(5)]
    for session in sessions:
        assert await store.add_session(session, max_sessions=3)
    listed = await store.list_sessions(user.id, NOW)
    assert [s.id for s in listed] == [s.id for s in reversed(sessions[2:])]
