"""The services container: built once per app, one of each, opened and closed by the lifespan."""

from __future__ import annotations

from authapi.store import MemoryStore
from authapi.web.services import SCOPE_KEY, Services, services_in
from tests.config import settings_for


class RecordingStore(MemoryStore):
    """A memory store that remembers being opened and closed."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[str] = []

    async def open(self) -> None:
        self.calls.append("open")

    async def close(self) -> None:
        self.calls.append("close")


def test_use_cases_share_the_one_store_hasher_and_codec() -> None:
    services = Services.build(settings_for())
    assert services.auth.store is services.store
    assert services.tasks.store is services.store
    assert services.auth.hasher is services.hasher
    assert services.auth.codec is services.codec
    assert services.auth.settings is services.settings


def test_metrics_are_built_only_when_switched_on() -> None:
    assert Services.build(settings_for()).metrics is not None
    assert Services.build(settings_for(metrics_enabled=False)).metrics is None


def test_the_given_store_and_clock_are_used() -> None:
    store = MemoryStore()
    services = Services.build(settings_for(), store=store, clock=lambda: 1_000.5)
    assert services.store is store
    assert services.auth.now() == 1_000


async def test_running_opens_the_store_and_closes_it_at_the_end() -> None:
    store = RecordingStore()
    services = Services.build(settings_for(), store=store)
    async with services.running():
        assert store.calls == ["open"]
    assert store.calls == ["open", "close"]


def test_a_request_reaches_the_services_through_its_scope() -> None:
    services = Services.build(settings_for())
    assert services_in({SCOPE_KEY: services, "type": "http"}) is services
