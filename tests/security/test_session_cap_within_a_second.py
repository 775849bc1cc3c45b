"""A login past MAX_SESSIONS_PER_USER ends the oldest session, even within one second.

Sessions record their start in whole seconds; logins in the same second used to be told
apart by their random ids, so the cap could end a newer session and keep an older one. The
ids here come out in falling order, the worst case for that tie-break, so the tests do not
depend on luck.
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest

from authapi.settings import Settings
from tests.api_moves import Api
from tests.backends import BACKENDS, storage_url
from tests.clock import Clock
from tests.config import CHEAP_HASHING, SECRET
from tests.forgery import claims_of

CAP = 3


@pytest.fixture(params=BACKENDS)
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    # The order is the store's to keep: try every one.
    with storage_url(request.param, tmp_path) as url:
        yield url


@pytest.fixture(autouse=True)
def falling_session_ids(monkeypatch: pytest.MonkeyPatch) -> None:
    ids = (uuid.UUID(int=n) for n in itertools.count(2**128 - 1, -1))
    monkeypatch.setattr("authapi.sessions.uuid", SimpleNamespace(uuid4=lambda: next(ids)))


@pytest.fixture
def settings(store_url: str) -> Settings:
    return Settings(
        jwt_secret_key=SECRET, **CHEAP_HASHING, storage_url=store_url, max_sessions_per_user=CAP
    )


def test_logins_within_one_second_past_the_cap_leave_the_newest_alive(
    api: Api, clock: Clock
) -> None:
    api.register()
    # The test's clock ticks a millisecond a reading: five logins share one whole second.
    second = clock.now = float(int(clock.now))
    logins = [api.login().json() for _ in range(5)]
    assert int(clock.now) == second
    alive = [api.profile(login["access_token"]).status_code for login in logins]
    assert alive == [401, 401, 200, 200, 200]
    refreshed = [api.refresh(login["refresh_token"]).status_code for login in logins]
    assert refreshed == [401, 401, 200, 200, 200]


def test_the_session_list_is_newest_first_within_one_second(api: Api, clock: Clock) -> None:
    api.register()
    clock.now = float(int(clock.now))
    logins = [api.login().json() for _ in range(CAP)]
    listed = api.client.get(
        "/api/v1/auth/sessions",
        headers={"Authorization": f"Bearer {logins[-1]['access_token']}"},
    )
    assert listed.status_code == 200
    expected = [claims_of(login["access_token"])["sid"] for login in reversed(logins)]
    assert [session["id"] for session in listed.json()["items"]] == expected
