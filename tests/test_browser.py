"""Browser sessions without HTTP: the CSRF token is the session's own, and checked after it."""

from __future__ import annotations

import pytest

from authapi.errors import CsrfRefused, InvalidToken
from authapi.store import MemoryStore
from authapi.web.services import Services
from tests.api_moves import PASSWORD
from tests.config import settings_for
from tests.token_clients import BROWSER_SETTINGS


@pytest.fixture
def services() -> Services:
    return Services.build(settings_for(**BROWSER_SETTINGS), store=MemoryStore())


async def test_a_refresh_keeps_the_sessions_csrf_token(services: Services) -> None:
    await services.accounts.register("ada@example.com", PASSWORD)
    login = await services.browser.login("ada@example.com", PASSWORD)
    refreshed = await services.browser.refresh(login.pair.refresh_token, login.csrf_token)
    assert refreshed.csrf_token == login.csrf_token
    assert refreshed.pair.session_id == login.pair.session_id


async def test_another_sessions_csrf_token_is_refused(services: Services) -> None:
    await services.accounts.register("ada@example.com", PASSWORD)
    ours = await services.browser.login("ada@example.com", PASSWORD)
    theirs = await services.browser.login("ada@example.com", PASSWORD)
    with pytest.raises(CsrfRefused):
        await services.browser.logout(ours.pair.refresh_token, theirs.csrf_token)
    with pytest.raises(CsrfRefused):
        await services.browser.refresh(ours.pair.refresh_token, None)


async def test_an_ended_session_is_refused_before_its_csrf_token_is_looked_at(
    services: Services,
) -> None:
    await services.accounts.register("ada@example.com", PASSWORD)
    login = await services.browser.login("ada@example.com", PASSWORD)
    await services.browser.logout(login.pair.refresh_token, login.csrf_token)
    with pytest.raises(InvalidToken):
        await services.browser.logout(login.pair.refresh_token, None)
