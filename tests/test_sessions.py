"""Sessions without HTTP: what makes a session dead, and whose sessions a caller may end."""

from __future__ import annotations

import dataclasses

import pytest

from authapi.errors import InvalidToken, NotFound
from authapi.settings import Settings
from authapi.store import MemoryStore
from authapi.web.services import Services
from tests.api_moves import PASSWORD
from tests.config import SECRET


def services_on(store: MemoryStore) -> Services:
    """Build the use cases as the app does, on `store`."""
    return Services.build(Settings(jwt_secret_key=SECRET, bcrypt_rounds=4), store=store)


async def test_a_session_under_an_older_credential_version_is_refused_even_if_not_revoked() -> None:
    # The stores never keep such a session live; the service does not rely on it (a worker
    # of an older release, during a rolling upgrade, does not know about versions).
    store = MemoryStore()
    services = services_on(store)
    user = await services.accounts.register("ada@example.com", PASSWORD)
    pair = (await services.accounts.login("ada@example.com", PASSWORD)).pair
    store._users[user.id] = dataclasses.replace(user, credential_version=1)
    sessions = services.sessions
    for attempt in (sessions.authenticate(pair.access_token), sessions.refresh(pair.refresh_token)):
        with pytest.raises(InvalidToken) as refused:
            await attempt
        assert refused.value.reason == "revoked"


async def test_another_accounts_session_cannot_be_ended_and_does_not_seem_to_exist() -> None:
    services = services_on(MemoryStore())
    await services.accounts.register("ada@example.com", PASSWORD)
    await services.accounts.register("bob@example.com", PASSWORD)
    ada = (await services.accounts.login("ada@example.com", PASSWORD)).pair
    bob = (await services.accounts.login("bob@example.com", PASSWORD)).pair
    ada_caller = await services.sessions.authenticate(ada.access_token)
    with pytest.raises(NotFound):
        await services.sessions.end_session(ada_caller.claims, bob.session_id)
    await services.sessions.authenticate(bob.access_token)  # still live


async def test_logout_ends_another_session_of_the_caller_named_by_its_refresh_token() -> None:
    services = services_on(MemoryStore())
    await services.accounts.register("ada@example.com", PASSWORD)
    phone = (await services.accounts.login("ada@example.com", PASSWORD)).pair
    laptop = (await services.accounts.login("ada@example.com", PASSWORD)).pair
    caller = await services.sessions.authenticate(laptop.access_token)
    await services.sessions.logout(caller.claims, phone.refresh_token)
    for pair in (phone, laptop):
        with pytest.raises(InvalidToken):
            await services.sessions.authenticate(pair.access_token)
