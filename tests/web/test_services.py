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


def test_use_cases_share_the_one_store_hasher_codec_and_events() -> None:
    services = Services.build(settings_for())
    for use_case in (services.accounts, services.sessions, services.clients, services.tasks):
        assert use_case.store is services.store
    assert services.accounts.hasher is services.hasher
    assert services.accounts.passwords.hasher is services.hasher
    for use_case in (services.sessions, services.browser, services.clients):
        assert use_case.codec is services.codec
    for use_case in (services.accounts, services.sessions, services.browser, services.clients):
        assert use_case.events is services.events
    assert services.accounts.passwords.throttle is services.accounts.throttle
    assert services.clients.throttle is services.accounts.throttle
    assert services.accounts.settings is services.sessions.settings is services.settings


def test_use_cases_build_on_one_another() -> None:
    services = Services.build(settings_for())
    assert services.accounts.sessions is services.sessions
    assert services.browser.accounts is services.accounts
    assert services.browser.sessions is services.sessions
    assert services.clients.sessions is services.sessions


def test_metrics_are_built_only_when_switched_on() -> None:
    assert Services.build(settings_for()).metrics is not None
    assert Services.build(settings_for(metrics_enabled=False)).metrics is None


def test_the_given_store_and_clock_are_used() -> None:
    store = MemoryStore()
    services = Services.build(settings_for(), store=store, clock=lambda: 1_000.5)
    assert services.store is store
    assert services.sessions.now() == 1_000


async def test_running_opens_the_store_and_closes_it_at_the_end() -> None:
    store = RecordingStore()
    services = Services.build(settings_for(), store=store)
    async with services.running():
        assert store.calls == ["open"]
    assert store.calls == ["open", "close"]


def test_a_request_reaches_the_services_through_its_scope() -> None:
    services = Services.build(settings_for())
    assert services_in({SCOPE_KEY: services, "type": "http"}) is services


def test_each_app_counts_its_own_events_only() -> None:
    ours, theirs = Services.build(settings_for()), Services.build(settings_for())
    ours.events.emit("login", user_id="u")
    assert ours.metrics is not None and theirs.metrics is not None
    counted = {"event": "login"}
    assert ours.metrics.registry.get_sample_value("authapi_auth_events_total", counted) == 1.0
    assert theirs.metrics.registry.get_sample_value("authapi_auth_events_total", counted) is None
