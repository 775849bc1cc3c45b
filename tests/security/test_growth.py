"""Growth is bounded: per-user caps on sessions and tasks, and a purge of what has ended.

An attacker with one account must not be able to grow the store without bound, nor make
another user's requests slower by doing so.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager

from authapi.housekeeping import purge_periodically
from authapi.records import Session
from authapi.settings import Settings
from authapi.store import Store
from authapi.web.app import create_app
from tests.api_moves import PASSWORD, Api
from tests.backends import BACKENDS, opened_store, storage_url
from tests.clock import Clock
from tests.forgery import claims_of
from tests.security.refusals import assert_token_refused

MAX_SESSIONS = 3
MAX_TASKS = 5


@pytest.fixture(params=BACKENDS)
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    # The caps are atomic in each store (a lock, a row lock, one writer): race every one.
    with storage_url(request.param, tmp_path) as url:
        yield url


pytestmark = pytest.mark.settings(
    max_sessions_per_user=MAX_SESSIONS,
    max_tasks_per_user=MAX_TASKS,
    auth_rate_limit_per_minute=0,
    # Attempts count before bcrypt, so parallel logins from one address meet the failure
    # limit while in flight; these tests are about the caps, so it sits above them.
    login_max_failures=20,
)


def headers(tokens: dict[str, Any]) -> dict[str, str]:
    return {"Authorization": f"Bearer {tokens['access_token']}"}


def test_a_login_past_the_session_cap_ends_the_oldest_sessions(api: Api, clock: Clock) -> None:
    api.register()
    logins = []
    for _ in range(MAX_SESSIONS + 2):
        clock.advance(1)  # one login a second: "oldest" is plain to see
        logins.append(api.login())
    for oldest in logins[:2]:
        assert_token_refused(api.profile(oldest.json()["access_token"]))
        assert_token_refused(api.refresh(oldest.json()["refresh_token"]))
    newest = logins[2:]
    for login in newest:
        assert api.profile(login.json()["access_token"]).status_code == 200
    listed = api.client.get("/api/v1/auth/sessions", headers=headers(newest[-1].json()))
    assert len(listed.json()["items"]) == MAX_SESSIONS


async def test_concurrent_logins_past_the_session_cap_leave_exactly_the_cap_live(
    async_client: httpx.AsyncClient,
) -> None:
    credentials = {"email": "ada@example.com", "password": PASSWORD}
    await async_client.post("/api/v1/auth/register", json=credentials)
    logins = await asyncio.gather(
        *(async_client.post("/api/v1/auth/login", json=credentials) for _ in range(12))
    )
    assert {login.status_code for login in logins} == {200}
    live = [
        login
        for login in logins
        if (
            await async_client.get("/api/v1/protected/profile", headers=headers(login.json()))
        ).status_code
        == 200
    ]
    assert len(live) == MAX_SESSIONS
    listed = await async_client.get("/api/v1/auth/sessions", headers=headers(live[0].json()))
    assert len(listed.json()["items"]) == MAX_SESSIONS


async def test_concurrent_tasks_past_the_cap_get_a_conflict_and_exactly_the_cap_is_kept(
    async_client: httpx.AsyncClient,
) -> None:
    credentials = {"email": "ada@example.com", "password": PASSWORD}
    await async_client.post("/api/v1/auth/register", json=credentials)
    tokens = (await async_client.post("/api/v1/auth/login", json=credentials)).json()
    created = await asyncio.gather(
        *(
            async_client.post("/api/v1/tasks", headers=headers(tokens), json={"title": f"t{i}"})
            for i in range(MAX_TASKS * 3)
        )
    )
    assert sorted(response.status_code for response in created) == [201] * MAX_TASKS + [409] * (
        MAX_TASKS * 2
    )
    refused = next(response for response in created if response.status_code == 409)
    assert refused.headers["content-type"] == "application/problem+json"
    assert refused.json() == {
        "type": "about:blank",
        "title": "Conflict",
        "status": 409,
        "detail": f"A user may keep at most {MAX_TASKS} tasks; delete some first.",
    }
    listed = (await async_client.get("/api/v1/tasks?limit=100", headers=headers(tokens))).json()
    kept = {task["title"] for task in listed["items"]}
    assert kept == {r.json()["title"] for r in created if r.status_code == 201}
    # Deleting one makes room for one.
    deleted = await async_client.delete(
        f"/api/v1/tasks/{listed['items'][0]['id']}", headers=headers(tokens)
    )
    assert deleted.status_code == 204
    again = await async_client.post("/api/v1/tasks", headers=headers(tokens), json={"title": "x"})
    assert again.status_code == 201


@pytest.fixture
async def store(store_url: str) -> AsyncIterator[Store]:
    async with opened_store(store_url) as opened:
        yield opened


async def until(condition: Any, seconds: float = 10.0) -> None:
    """Wait (for the background task, in real time) until `condition()` comes true."""
    async with asyncio.timeout(seconds):
        while not await condition():
            await asyncio.sleep(0.01)


async def test_ended_sessions_and_counters_are_purged_in_the_background(
    settings: Settings, clock: Clock, store: Store
) -> None:
    from tests.store.test_store import a_user

    now = int(clock())
    user = a_user()
    await store.add_user(user)
    ended = [
        Session(str(uuid.uuid4()), user.id, now - 20, now - 10, "h"),  # expired
        Session(str(uuid.uuid4()), user.id, now - 20, now + 3600, "h"),  # revoked below
    ]
    live = Session(str(uuid.uuid4()), user.id, now, now + 3600, "h")
    for session in (*ended, live):
        await store.add_session(session)
    await store.revoke_session(ended[1].id, now - 5)
    await store.hit("running", 60, now - 30)
    await store.hit("ended", 60, now - 90)

    async def purged() -> bool:
        gone = [await store.get_session(session.id) is None for session in ended]
        return all(gone) and (await store.peek("ended", 60, now - 31)).count == 0

    app = create_app(settings, store=store, clock=clock)
    async with LifespanManager(app):
        await until(purged)
        assert await store.get_session(live.id) == live
        assert (await store.peek("running", 60, now)).count == 1
    # Shutdown cancels the purge: nothing of it is left running.
    assert not [
        task
        for task in asyncio.all_tasks()
        if task.get_coro().__qualname__ == purge_periodically.__qualname__  # type: ignore[union-attr]
    ]


async def test_tokens_of_a_purged_session_get_the_same_refusal_as_a_revoked_ones(
    settings: Settings, clock: Clock, store: Store
) -> None:
    app = create_app(settings, store=store, validate_responses=True, clock=clock)
    credentials = {"email": "ada@example.com", "password": PASSWORD}
    async with (
        LifespanManager(app) as manager,
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=manager.app), base_url="http://test"
        ) as client,
    ):
        await client.post("/api/v1/auth/register", json=credentials)
        tokens = (await client.post("/api/v1/auth/login", json=credentials)).json()
        assert (
            await client.post("/api/v1/auth/logout", headers=headers(tokens))
        ).status_code == 204

        async def answers() -> list[httpx.Response]:
            return [
                await client.get("/api/v1/protected/profile", headers=headers(tokens)),
                await client.post(
                    "/api/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]}
                ),
            ]

        revoked = await answers()
        # (The app's own purge pass may have come first; either way the row must be gone.)
        await store.purge(int(clock()), batch=100)
        assert await store.get_session(claims_of(tokens["access_token"])["sid"]) is None
        purged = await answers()
    for before, after in zip(revoked, purged, strict=True):
        assert_token_refused(after)
        assert (after.status_code, after.json()) == (before.status_code, before.json())
