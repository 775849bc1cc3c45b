"""Growing the memory store through account activity, spread across many accounts.

Each user keeps at most `MAX_ACTIVITY_EVENTS_PER_USER` events, but accounts are free: on
the memory store all users' events together are held under
`MEMORY_STORE_MAX_ACTIVITY_EVENTS`. Past it the oldest event of all goes; the change that
is being reported is never refused (no 507), since the log is history.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from authapi.errors import ConfigError
from authapi.settings import Settings
from tests.api_moves import Account, Api
from tests.apps import app_for
from tests.backends import storage_url
from tests.clock import Clock
from tests.config import settings_for

CEILING = 3


@contextmanager
def serving(clock: Clock, store_url: str = "memory://", **settings: Any) -> Iterator[Api]:
    app = app_for(settings_for(storage_url=store_url, **settings), clock=clock)
    with app.test_client(client=("192.0.2.10", 50000)) as client:
        yield Api(client)


def activity_of(api: Api, account: Account) -> list[dict[str, Any]]:
    response = api.client.get("/api/v1/auth/activity", headers=account.headers)
    assert response.status_code == 200, response.text
    events: list[dict[str, Any]] = response.json()["events"]
    return events


def test_a_flood_across_accounts_pushes_out_the_oldest_history_but_no_change_is_refused(
    clock: Clock,
) -> None:
    with serving(clock, memory_store_max_activity_events=CEILING) as api:
        ada = api.account("ada@example.com")
        assert [event["type"] for event in activity_of(api, ada)] == ["login_succeeded"]
        # A stranger's accounts, each logged in: one event each, past the ceiling.
        for number in range(CEILING):
            clock.advance(1)
            assert api.login(api.account(f"flood{number}@example.com").email).status_code == 200
        # Ada's login was the oldest event of all: it went, and nothing was refused.
        assert activity_of(api, ada) == []
        clock.advance(1)
        assert api.login("ada@example.com").status_code == 200
        assert [event["type"] for event in activity_of(api, ada)] == ["login_succeeded"]


def test_a_password_change_at_the_ceiling_is_made_and_reported(clock: Clock) -> None:
    with serving(clock, memory_store_max_activity_events=2) as api:
        ada = api.account("ada@example.com")
        bob = api.account("bob@example.com")
        response = api.client.post(
            "/api/v1/auth/password",
            headers=ada.headers,
            json={"current_password": ada.password, "new_password": "a whole new passphrase 7"},
        )
        assert response.status_code in (200, 204), response.text
        fresh = api.login("ada@example.com", "a whole new passphrase 7").json()
        headers = {"Authorization": f"Bearer {fresh['access_token']}"}
        events = api.client.get("/api/v1/auth/activity", headers=headers).json()["events"]
        # Each change pushed out the oldest event of all: first Ada's login, then Bob's.
        assert [event["type"] for event in events] == ["login_succeeded", "password_changed"]
        assert activity_of(api, bob) == []


def test_the_sql_stores_ignore_the_activity_ceiling(clock: Clock, tmp_path: Path) -> None:
    # A database keeps the history under its operator's quotas.
    with (
        storage_url("sqlite", tmp_path) as url,
        serving(clock, store_url=url, memory_store_max_activity_events=1) as api,
    ):
        ada = api.account("ada@example.com")
        api.account("bob@example.com")
        assert [event["type"] for event in activity_of(api, ada)] == ["login_succeeded"]


def test_an_activity_ceiling_of_zero_is_refused_at_startup() -> None:
    with pytest.raises(ConfigError, match="MEMORY_STORE_MAX_ACTIVITY_EVENTS"):
        Settings.from_env(
            {"APP_ENV": "development", "MEMORY_STORE_MAX_ACTIVITY_EVENTS": "0"}, env_file=None
        )


def test_the_activity_ceiling_has_its_documented_default() -> None:
    settings = Settings.from_env({"APP_ENV": "development"}, env_file=None)
    assert settings.memory_store_max_activity_events == 1_000_000
