"""Every store test runs against every backend (`store_url` comes from tests/conftest.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from authapi.store import Store
from tests.backends import opened_store


@pytest.fixture
async def store(store_url: str) -> AsyncIterator[Store]:
    async with opened_store(store_url) as opened:
        yield opened
