"""Fixtures chain settings → app → client; the helpers they use live in importable modules."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager
from starlette.testclient import TestClient

from authapi.settings import Settings
from tests.api_moves import Api
from tests.apps import app_for
from tests.backends import BACKENDS, storage_url
from tests.clock import Clock
from tests.config import settings_for


@pytest.fixture(params=BACKENDS)
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    with storage_url(request.param, tmp_path) as url:
        yield url


@pytest.fixture
def settings(request: pytest.FixtureRequest, store_url: str) -> Settings:
    """The test settings on this test's store, with the overrides of its `settings` marks.

    A module's mark applies to each of its tests; a test's own mark wins over it.
    """
    overrides: dict[str, Any] = {}
    for mark in reversed(list(request.node.iter_markers("settings"))):
        overrides.update(mark.kwargs)
    return settings_for(storage_url=store_url, **overrides)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def app(settings: Settings, clock: Clock) -> Any:
    return app_for(settings, clock=clock)


@pytest.fixture(autouse=True)
def flush_log_lines() -> Iterator[None]:
    # The app's log handler batches lines: write them while this test's capture holds.
    yield
    for handler in logging.getLogger().handlers:
        handler.flush()


@pytest.fixture
def client(app: Any) -> Iterator[TestClient]:
    # A peer with an IP address, as a TCP client has: the test client's default, the name
    # "testclient", is no address, and the guard keys such a peer as having none.
    with app.test_client(client=("127.0.0.1", 50000)) as test_client:
        yield test_client


@pytest.fixture
async def async_client(app: Any) -> AsyncIterator[httpx.AsyncClient]:
    """The app on the test's own event loop, for requests that must truly run concurrently."""
    async with (
        LifespanManager(app) as manager,
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=manager.app), base_url="http://test"
        ) as async_client,
    ):
        yield async_client


@pytest.fixture
def api(client: TestClient) -> Api:
    return Api(client)
