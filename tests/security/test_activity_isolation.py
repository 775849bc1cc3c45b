"""Reading another user's activity: a cursor of hers, a forged cursor, or an id in the path.

The store looks a cursor up among the caller's own events only, so none of these finds
anything of anyone else's; a cursor that is not one at all is a 400 that echoes nothing.
"""

from __future__ import annotations

import base64
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.api_moves import Account, Api
from tests.backends import BACKENDS, decided_before_the_store, storage_url

WRONG = "not the password at all"


@pytest.fixture(params=BACKENDS)
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    # The lookup of a cursor is a query of each store's own: try every one.
    with storage_url(request.param, tmp_path) as url:
        yield url


def page(api: Api, account: Account, **query: Any) -> Any:
    return api.client.get("/api/v1/auth/activity", headers=account.headers, params=query)


def accounts_with_history(api: Api) -> tuple[Account, Account]:
    ada = api.account("ada@example.com")
    eve = api.account("eve@example.com")
    for _ in range(3):
        api.login("eve@example.com")
    return ada, eve


def test_another_users_cursor_finds_nothing_of_hers(api: Api) -> None:
    ada, eve = accounts_with_history(api)
    eves_cursor = page(api, eve, limit=1).json()["next_cursor"]
    assert eves_cursor is not None
    response = page(api, ada, cursor=eves_cursor)
    assert response.status_code == 200
    assert response.json() == {"events": [], "next_cursor": None}


def test_a_forged_cursor_naming_her_event_finds_nothing(api: Api) -> None:
    ada, eve = accounts_with_history(api)
    eves_ids = [event["id"] for event in page(api, eve, limit=100).json()["events"]]
    for event_id in [*eves_ids, str(uuid.uuid4())]:
        forged = base64.urlsafe_b64encode(uuid.UUID(event_id).bytes).decode().rstrip("=")
        assert page(api, ada, cursor=forged).json()["events"] == []


def test_no_page_of_hers_holds_anyone_elses_event(api: Api) -> None:
    ada, eve = accounts_with_history(api)
    api.login("ada@example.com", WRONG)
    mine = page(api, ada, limit=100).json()["events"]
    hers = {event["id"] for event in page(api, eve, limit=100).json()["events"]}
    assert mine and not hers & {event["id"] for event in mine}
    eves_sessions = {event["session_id"] for event in page(api, eve, limit=100).json()["events"]}
    assert not eves_sessions & {event["session_id"] for event in mine} - {None}


@pytest.mark.parametrize("cursor", ["not a cursor", "A" * 200, "é", "=" * 8, "AAAA"])
@decided_before_the_store
def test_a_cursor_that_is_no_cursor_is_a_400_that_echoes_nothing(api: Api, cursor: str) -> None:
    ada, _ = accounts_with_history(api)
    response = page(api, ada, cursor=cursor)
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["detail"] == "cursor: is not a cursor this API issued"


@decided_before_the_store
def test_an_event_id_in_the_path_is_no_route(api: Api) -> None:
    ada, eve = accounts_with_history(api)
    eves_event = page(api, eve).json()["events"][0]["id"]
    response = api.client.get(f"/api/v1/auth/activity/{eves_event}", headers=ada.headers)
    assert response.status_code == 404
    assert eves_event not in response.text
