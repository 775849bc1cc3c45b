"""A stranger's flood of failed logins: it merges, and cannot push the owner's history out.

Failed (and throttled) logins from one address within a minute are one event whose count
grows in one atomic store operation, so parallel failures merge on every store, and the
log grows by at most one event per address a minute however many guesses arrive.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.api_moves import PASSWORD, Account, Api
from tests.backends import BACKENDS, storage_url
from tests.clock import Clock

GUESSES = 30
WRONG = "not the password at all"


@pytest.fixture(params=BACKENDS)
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    # The merge is an upsert (SQL) or a step under the lock (memory): race every one.
    with storage_url(request.param, tmp_path) as url:
        yield url


async def events_of(client: httpx.AsyncClient, access_token: str) -> list[dict[str, Any]]:
    response = await client.get(
        "/api/v1/auth/activity",
        params={"limit": 100},
        headers={"Authorization": f"Bearer {access_token}"},
    )
    assert response.status_code == 200, response.text
    events: list[dict[str, Any]] = response.json()["events"]
    return events


async def test_parallel_failed_logins_merge_into_one_event_per_kind(
    async_client: httpx.AsyncClient, clock: Clock
) -> None:
    clock.now = float(int(clock.now) // 60 * 60)  # all within one minute
    credentials = {"email": "ada@example.com", "password": PASSWORD}
    await async_client.post("/api/v1/auth/register", json=credentials)
    tokens = (await async_client.post("/api/v1/auth/login", json=credentials)).json()
    wrong = {**credentials, "password": WRONG}
    responses = await asyncio.gather(
        *(async_client.post("/api/v1/auth/login", json=wrong) for _ in range(GUESSES))
    )
    statuses = [response.status_code for response in responses]
    events = await events_of(async_client, tokens["access_token"])
    counts = {event["type"]: event["details"].get("count") for event in events[:-1]}
    assert len(events) == 1 + len(counts), [e["type"] for e in events]
    assert counts.get("login_failed") == statuses.count(401)
    assert counts.get("login_throttled") == statuses.count(429)
    assert events[-1]["type"] == "login_succeeded"


@pytest.mark.settings(
    login_max_failures=0, auth_rate_limit_per_minute=0, max_activity_events_per_user=10
)
def test_a_flood_of_failures_from_one_address_keeps_the_owners_history(
    api: Api, clock: Clock
) -> None:
    clock.now = float(int(clock.now) // 60 * 60)
    ada: Account = api.account()
    for _ in range(GUESSES):
        assert api.login(password=WRONG).status_code == 401
    events = api.client.get("/api/v1/auth/activity", headers=ada.headers).json()["events"]
    assert [(e["type"], e["details"].get("count")) for e in events] == [
        ("login_failed", GUESSES),
        ("login_succeeded", None),
    ]
