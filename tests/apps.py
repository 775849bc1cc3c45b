"""The app under test: built once per process for each distinct settings, fresh for each test.

Building the Connexion app (the spec, its validators, the routes) is what a test used to
spend most of its time on; the services (store, hasher, codec, metrics) cost next to nothing.
So the app is kept, and each test gets it with services of its own in its slot: an empty
store, its own clock, its own metrics and throttle counters.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from dataclasses import replace

from connexion import AsyncApp

from authapi.logs import configure_logging
from authapi.settings import Settings
from authapi.store import Store
from authapi.web.app import build_app
from authapi.web.services import Services, ServicesSlot

# Enough for every variant one module uses; a module with more only builds again.
KEPT_APPS = 16
_built: OrderedDict[Settings, tuple[AsyncApp, ServicesSlot]] = OrderedDict()


def app_for(
    settings: Settings, *, clock: Callable[[], float], store: Store | None = None
) -> AsyncApp:
    """Return an app for these settings that validates its responses, with fresh services."""
    # Only the services read the store's address: tests on a SQLite file or a PostgreSQL
    # schema of their own share one app all the same.
    key = replace(settings, storage_url="memory://")
    built = _built.get(key)
    if built is None:
        app, slot = _built[key] = build_app(
            settings, store=store, validate_responses=True, clock=clock
        )
        if len(_built) > KEPT_APPS:
            _built.popitem(last=False)
        return app
    _built.move_to_end(key)
    app, slot = built
    # What building it does besides: the log level, and services that have served nothing.
    configure_logging(settings.log_level)
    slot.services = Services.build(settings, store=store, clock=clock)
    return app
