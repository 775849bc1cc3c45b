"""A resource server learns nothing of a refresh token: introspection describes access tokens.

A refresh token is for this service alone. Described to a resource server, or to whoever
holds its client secret, it told whether a stolen refresh token still works, and for how
long, without spending it. RFC 7662 §4 lets the answer depend on the client; ours is
`{"active": false}` for every refresh token, while revocation still takes either kind.
"""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from authapi.settings import Settings
from tests.api_moves import Api
from tests.token_clients import browser_settings, introspect, revoke

INACTIVE = {"active": False}


@pytest.fixture
def settings(store_url: str) -> Settings:
    return browser_settings(store_url)


@pytest.mark.parametrize("hint", [None, "refresh_token", "access_token", "something_else"])
def test_a_current_refresh_token_is_inactive_to_a_resource_server(
    api: Api, client: TestClient, hint: str | None
) -> None:
    account = api.account()
    answer = introspect(client, account.refresh_token, hint)
    assert answer.status_code == 200
    assert answer.json() == INACTIVE
    # The very same session is live: its access token is described.
    assert introspect(client, account.access_token, hint).json()["active"] is True


def test_revocation_still_takes_a_refresh_token(api: Api, client: TestClient) -> None:
    account = api.account()
    assert revoke(client, account.refresh_token, "refresh_token").status_code == 200
    assert introspect(client, account.access_token).json() == INACTIVE
    assert api.refresh(account.refresh_token).status_code == 401
