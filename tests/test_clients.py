"""OAuth clients without HTTP: who may introspect, what is active, and what revocation ends."""

from __future__ import annotations

import pytest

from authapi.errors import InvalidClient, InvalidToken
from authapi.store import MemoryStore
from authapi.web.services import Services
from tests.api_moves import PASSWORD
from tests.config import settings_for
from tests.token_clients import BROWSER_SETTINGS, RS_ID, RS_SECRET


@pytest.fixture
def services() -> Services:
    return Services.build(settings_for(**BROWSER_SETTINGS), store=MemoryStore())


@pytest.mark.parametrize(
    ("client_id", "secret"), [(RS_ID, "wrong"), ("someone", RS_SECRET), (RS_SECRET, RS_ID)]
)
async def test_only_a_listed_pair_authenticates(
    services: Services, client_id: str, secret: str
) -> None:
    assert await services.clients.authenticate(RS_ID, RS_SECRET) == RS_ID
    with pytest.raises(InvalidClient):
        await services.clients.authenticate(client_id, secret)


async def test_no_refresh_token_is_described_spent_or_current(services: Services) -> None:
    await services.accounts.register("ada@example.com", PASSWORD)
    pair = (await services.accounts.login("ada@example.com", PASSWORD)).pair
    fresh = await services.sessions.refresh(pair.refresh_token)
    assert await services.clients.introspect(pair.refresh_token) is None
    assert await services.clients.introspect(fresh.refresh_token) is None
    found = await services.clients.introspect(fresh.access_token)
    assert found is not None and found.claims.type == "access"


async def test_revoking_a_refresh_token_ends_its_session_and_any_other_token_is_ignored(
    services: Services,
) -> None:
    await services.accounts.register("ada@example.com", PASSWORD)
    pair = (await services.accounts.login("ada@example.com", PASSWORD)).pair
    await services.clients.revoke("not a token of ours")
    await services.sessions.authenticate(pair.access_token)
    await services.clients.revoke(pair.refresh_token, "refresh_token")
    with pytest.raises(InvalidToken):
        await services.sessions.authenticate(pair.access_token)
    assert await services.clients.introspect(pair.access_token) is None
