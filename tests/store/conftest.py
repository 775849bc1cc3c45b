"""Every store test runs against every backend."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from authapi.store import MemoryStore, Store


@pytest.fixture(params=["memory"])
async def store(request: pytest.FixtureRequest) -> AsyncIterator[Store]:
    backend = MemoryStore()
    yield backend
    await backend.close()
