"""Enumeration by timing: does a failed login's answer wait on the activity log?

A wrong password for a registered email records `login_failed` for its owner; an unknown
email records nothing. Were that write awaited before the answer, a registered email's
answer would cost one more store write than an unknown one's, and many samples could tell
which emails have accounts. The event reports no change, so it is written after the answer
is sent: both answers wait for the same store work. These tests count that work, never the
clock. A store that fails the deferred write costs neither a 500 nor an unhandled task.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, MutableMapping
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager

from authapi.errors import StoreUnavailable
from authapi.records import Activity
from authapi.store import MemoryStore
from authapi.store.sql import SqlStore
from tests.api_moves import PASSWORD
from tests.apps import app_for
from tests.backends import BACKENDS, storage_url
from tests.clock import Clock
from tests.config import settings_for

WRONG = "not the password at all"
ADA = "ada@example.com"
NOBODY = "nobody@example.com"
FAILURES = 2
# Ada's address is familiar to her account once she logs in from it, which changes how her
# email is counted there (by design): the stranger probes from elsewhere.
ADAS_ADDRESS = "203.0.113.7"
STRANGERS_ADDRESS = "192.0.2.10"

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]


class Journal:
    """Mixed into a store: notes each call it ends, and each activity write it starts.

    `journal` also gets "answered" each time the app has sent a whole answer: what the
    store did before that line, the answer waited for.
    """

    journal: list[str]
    failing_writes: bool
    storage_url: str

    def __getattribute__(self, name: str) -> Any:
        attribute = super().__getattribute__(name)
        if name.startswith("_") or not inspect.iscoroutinefunction(attribute):
            return attribute
        journal: list[str] = super().__getattribute__("journal")

        async def noted(*args: Any, **kwargs: Any) -> Any:
            result = await attribute(*args, **kwargs)
            journal.append(name)
            return result

        return noted

    async def record_activity(self, activity: Activity) -> None:
        self.journal.append(f"writing {activity.type}")
        if self.failing_writes:
            raise StoreUnavailable()
        await super().record_activity(activity)  # type: ignore[misc]

    def work_between(self, start: int, end: int) -> list[str]:
        return [entry for entry in self.journal[start:end] if entry != "answered"]


class JournalMemoryStore(Journal, MemoryStore):
    pass


class JournalSqlStore(Journal, SqlStore):
    pass


JournalStore = JournalMemoryStore | JournalSqlStore


def journal_store(url: str) -> JournalStore:
    store = JournalMemoryStore() if url == "memory://" else JournalSqlStore(url)
    store.journal = []
    store.failing_writes = False
    store.storage_url = url
    return store


@pytest.fixture(params=BACKENDS)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[JournalStore]:
    # The write is deferred above the store, but each store's write fails its own way.
    with storage_url(request.param, tmp_path) as url:
        yield journal_store(url)


def noting_answers(
    app: Callable[[Scope, Any, Any], Awaitable[None]], journal: list[str]
) -> Callable[[Scope, Any, Any], Awaitable[None]]:
    async def noted(scope: Scope, receive: Any, send: Any) -> None:
        async def sending(message: Message) -> None:
            await send(message)
            if message["type"] == "http.response.body" and not message.get("more_body"):
                journal.append("answered")

        await app(scope, receive, sending)

    return noted


@dataclass
class Clients:
    """Ada, from her own address, and a stranger probing emails from another."""

    owner: httpx.AsyncClient
    stranger: httpx.AsyncClient


@asynccontextmanager
async def serving(store: JournalStore, **settings: Any) -> AsyncIterator[Clients]:
    app = app_for(
        settings_for(storage_url=store.storage_url, **settings), clock=Clock(), store=store
    )
    async with LifespanManager(app) as manager, AsyncExitStack() as stack:
        noted = noting_answers(manager.app, store.journal)

        async def client_from(address: str) -> httpx.AsyncClient:
            transport = httpx.ASGITransport(app=noted, client=(address, 50000))
            client = httpx.AsyncClient(transport=transport, base_url="http://test")
            return await stack.enter_async_context(client)

        yield Clients(await client_from(ADAS_ADDRESS), await client_from(STRANGERS_ADDRESS))


async def attempt(client: httpx.AsyncClient, store: JournalStore, email: str) -> list[str]:
    """Log in with a wrong password; return the store work its answer waited for."""
    start = len(store.journal)
    response = await client.post("/api/v1/auth/login", json={"email": email, "password": WRONG})
    assert response.status_code in (401, 429), response.text
    answered = store.journal.index("answered", start)
    return store.work_between(start, answered)


async def ada_signed_up(client: httpx.AsyncClient) -> dict[str, str]:
    credentials = {"email": ADA, "password": PASSWORD}
    assert (await client.post("/api/v1/auth/register", json=credentials)).status_code == 201
    tokens = (await client.post("/api/v1/auth/login", json=credentials)).json()
    return {"Authorization": f"Bearer {tokens['access_token']}"}


async def activity_of(client: httpx.AsyncClient, headers: dict[str, str]) -> list[str]:
    response = await client.get("/api/v1/auth/activity", headers=headers)
    assert response.status_code == 200, response.text
    return [event["type"] for event in response.json()["events"]]


async def test_a_wrong_password_waits_for_the_store_work_of_an_unknown_email(
    store: JournalStore,
) -> None:
    async with serving(store) as clients:
        ada = await ada_signed_up(clients.owner)
        unknown = await attempt(clients.stranger, store, NOBODY)
        registered = await attempt(clients.stranger, store, ADA)
        assert registered == unknown
        assert "writing login_failed" not in registered
        # The event is written all the same, and its owner reads it at once.
        assert await activity_of(clients.owner, ada) == ["login_failed", "login_succeeded"]


async def test_the_failed_logins_event_is_written_after_its_answer_is_sent(
    store: JournalStore,
) -> None:
    async with serving(store) as clients:
        ada = await ada_signed_up(clients.owner)
        start = len(store.journal)
        await attempt(clients.stranger, store, ADA)
        # Ada's read waits for the deferred write: it has happened by the time she reads.
        assert await activity_of(clients.owner, ada) == ["login_failed", "login_succeeded"]
        entries = store.journal[start:]
        assert entries.index("answered") < entries.index("writing login_failed")


async def test_a_throttled_login_waits_for_the_store_work_of_an_unknown_email(
    store: JournalStore,
) -> None:
    async with serving(store, login_max_failures=FAILURES) as clients:
        ada = await ada_signed_up(clients.owner)
        for email in (NOBODY, ADA):
            for _ in range(FAILURES):
                await attempt(clients.stranger, store, email)
        # Ada's read lets the failures' deferred writes end, so none runs while we count.
        assert await activity_of(clients.owner, ada) == ["login_failed", "login_succeeded"]
        unknown = await attempt(clients.stranger, store, NOBODY)
        registered = await attempt(clients.stranger, store, ADA)
        assert registered == unknown
        assert "writing login_throttled" not in registered
        assert (await activity_of(clients.owner, ada))[0] == "login_throttled"


async def test_a_store_outage_in_the_deferred_write_is_logged_and_counted_never_a_500(
    store: JournalStore, caplog: pytest.LogCaptureFixture
) -> None:
    async with serving(store) as clients:
        ada = await ada_signed_up(clients.owner)
        store.failing_writes = True
        # The app's logging replaced the root's handlers: listen where its lines start.
        ours = logging.getLogger("authapi")
        ours.addHandler(caplog.handler)
        try:
            for _ in range(2):
                response = await clients.stranger.post(
                    "/api/v1/auth/login", json={"email": ADA, "password": WRONG}
                )
                assert response.status_code == 401
            # The owner's read waits for the failed writes, and still answers.
            assert await activity_of(clients.owner, ada) == ["login_succeeded"]
        finally:
            ours.removeHandler(caplog.handler)
        lines = [record for record in caplog.records if "not recorded" in record.getMessage()]
        assert len(lines) == 2
        assert all(WRONG not in record.getMessage() for record in caplog.records)
        counted = [
            record
            for record in caplog.records
            if getattr(record, "fields", {}).get("event") == "activity_not_recorded"
        ]
        assert len(counted) == 2
        assert counted[0].fields["error"] == "StoreUnavailable"  # type: ignore[attr-defined]
