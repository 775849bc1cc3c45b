"""A database outage answers 503 with Retry-After, and the service recovers by itself."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from starlette.testclient import TestClient

from authapi.errors import StoreUnavailable
from authapi.store.sql import SqlStore
from authapi.web.app import create_app
from tests.api_moves import PASSWORD
from tests.backends import (
    POSTGRES_URL,
    end_the_backend_running,
    opened_store,
    require_postgres,
    storage_url,
)
from tests.config import settings_for
from tests.store.proxy import CuttableProxy


@pytest.fixture
def proxy() -> Iterator[CuttableProxy]:
    require_postgres()
    target = urlsplit(POSTGRES_URL)
    proxy = CuttableProxy((target.hostname or "127.0.0.1", target.port or 5432))
    proxy.start()
    yield proxy
    proxy.cut()


@pytest.fixture
def client(proxy: CuttableProxy, tmp_path: object) -> Iterator[TestClient]:
    with storage_url("postgresql", tmp_path) as url:  # type: ignore[arg-type]
        netloc = urlsplit(url).netloc
        host_port = netloc.split("@")[-1]
        proxied = url.replace(host_port, f"127.0.0.1:{proxy.port}", 1)
        settings = settings_for(storage_url=proxied)
        with create_app(settings).test_client() as test_client:
            yield test_client


def test_outage_answers_503_and_recovers(client: TestClient, proxy: CuttableProxy) -> None:
    credentials = {"email": "ada@example.com", "password": PASSWORD}
    assert client.post("/api/v1/auth/register", json=credentials).status_code == 201
    tokens = client.post("/api/v1/auth/login", json=credentials).json()
    bearer = {"Authorization": f"Bearer {tokens['access_token']}"}
    assert client.get("/api/v1/protected/profile", headers=bearer).status_code == 200

    proxy.cut()
    # Not a hang: the store gives up on a dead connection (TIMEOUT_SECONDS at most).
    down = client.get("/api/v1/protected/profile", headers=bearer)
    assert down.status_code == 503
    assert down.headers["content-type"] == "application/problem+json"
    assert int(down.headers["retry-after"]) > 0
    assert client.post("/api/v1/auth/login", json=credentials).status_code == 503
    health = client.get("/health")
    assert health.status_code == 200
    assert health.json()["store"] == "unavailable"
    assert client.get("/health/ready").status_code == 503

    proxy.restore()
    assert client.get("/health/ready").status_code == 200
    assert client.get("/api/v1/protected/profile", headers=bearer).status_code == 200
    assert client.post("/api/v1/auth/login", json=credentials).status_code == 200


def test_connection_idle_through_a_restart_is_replaced_before_use(
    proxy: CuttableProxy, tmp_path: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A pooled connection that sat idle is pinged first; a dead one never reaches a request.
    monkeypatch.setattr("authapi.store.sql.engine.IDLE_PING_SECONDS", 0.2)
    with storage_url("postgresql", tmp_path) as url:  # type: ignore[arg-type]
        host_port = urlsplit(url).netloc.split("@")[-1]
        proxied = url.replace(host_port, f"127.0.0.1:{proxy.port}", 1)
        settings = settings_for(storage_url=proxied)
        with create_app(settings).test_client() as client:
            credentials = {"email": "ada@example.com", "password": PASSWORD}
            assert client.post("/api/v1/auth/register", json=credentials).status_code == 201
            tokens = client.post("/api/v1/auth/login", json=credentials).json()
            bearer = {"Authorization": f"Bearer {tokens['access_token']}"}
            assert client.get("/api/v1/protected/profile", headers=bearer).status_code == 200

            proxy.cut()  # the database restarts: every pooled connection is now dead
            proxy.restore()
            time.sleep(0.3)
            assert client.get("/api/v1/protected/profile", headers=bearer).status_code == 200


def test_a_connection_ended_mid_query_is_an_outage_not_a_500(tmp_path: Path) -> None:
    # asyncpg reports a dropped connection as a plain DBAPIError, not an OperationalError;
    # CI once met it as a 500 when the cut landed inside a statement.
    with storage_url("postgresql", tmp_path) as url:
        asyncio.run(_end_the_backend_mid_query(url))


async def _end_the_backend_mid_query(url: str) -> None:
    marker = f"SELECT pg_sleep(5) -- {uuid.uuid4().hex}"
    async with opened_store(url) as store:
        assert isinstance(store, SqlStore)
        slow = asyncio.create_task(_run(store, marker))
        await end_the_backend_running(marker)
        with pytest.raises(StoreUnavailable):
            await slow
        # The pool replaces the dead connection: the next statement just works.
        await store.ping()


def test_a_connection_whose_statement_timed_out_is_not_lent_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # asyncpg cancels the statement on the server, but the connection's state is the
    # driver's guess until the server answers: the pool must replace it, not reuse it.
    # (SQLAlchemy invalidates it on a timeout by itself; the store does so for any outage.)
    monkeypatch.setattr("authapi.store.sql.engine.TIMEOUT_SECONDS", 0.5)

    async def time_out_once(url: str) -> None:
        store = SqlStore(url, pool_size=1)
        await store.open()
        try:
            before = await _backend_pid(store)
            with pytest.raises(StoreUnavailable):
                await _run(store, "SELECT pg_sleep(3)")
            assert await _backend_pid(store) != before
        finally:
            await store.close()

    with storage_url("postgresql", tmp_path) as url:
        asyncio.run(time_out_once(url))


def test_a_bad_statement_stays_a_loud_error(tmp_path: Path) -> None:
    async def run_a_bad_statement(url: str) -> None:
        async with opened_store(url) as store:
            assert isinstance(store, SqlStore)
            await _run(store, "SELECT no_such_column FROM users")

    with storage_url("postgresql", tmp_path) as url, pytest.raises(DBAPIError):
        asyncio.run(run_a_bad_statement(url))


async def _run(store: SqlStore, sql: str) -> None:
    async with store._database.connect() as connection:
        await connection.execute(text(sql))


async def _backend_pid(store: SqlStore) -> int:
    async with store._database.connect() as connection:
        return int((await connection.execute(text("SELECT pg_backend_pid()"))).scalar_one())
