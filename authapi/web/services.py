"""The services the app factory builds once, and the one way a request reaches them."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from authapi.accounts import AccountService
from authapi.activity import ActivityService, ActivityWriter
from authapi.browser import BrowserService
from authapi.clients import ClientService
from authapi.devices import DeviceTokens
from authapi.errors import StoreUnavailable
from authapi.events import Events
from authapi.factor_check import FactorCheck
from authapi.housekeeping import purge_periodically
from authapi.logs import flush_logs
from authapi.mfa import MfaService
from authapi.mfa_login import LoginChallenges, MfaLogin
from authapi.passkey_login import PasskeyLogin
from authapi.passkeys import PasskeyService
from authapi.password_check import PasswordCheck
from authapi.passwords import PasswordHasher
from authapi.secret_box import SecretBox
from authapi.sessions import SessionService
from authapi.settings import Settings
from authapi.step_up import StepUp
from authapi.store import ActivityBounds, Store, open_store
from authapi.tasks import TaskService
from authapi.throttle import Throttle
from authapi.tokens import TokenCodec
from authapi.web.metrics import EventCounter, Metrics
from authapi.webauthn import RelyingParty

# The key of the services in each request's ASGI scope; read only through `services_in`.
SCOPE_KEY = "authapi.services"
logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Services:
    """The store, hasher, token codec, events, use cases and metrics of one app."""

    settings: Settings
    store: Store
    hasher: PasswordHasher
    codec: TokenCodec
    events: Events
    accounts: AccountService
    sessions: SessionService
    browser: BrowserService
    clients: ClientService
    tasks: TaskService
    activity: ActivityService
    mfa: MfaService
    mfa_login: MfaLogin
    step_up: StepUp
    passkeys: PasskeyService
    passkey_login: PasskeyLogin
    # Events that report no change, written after the answer (authapi/activity.py).
    activity_writer: ActivityWriter
    metrics: Metrics | None

    @classmethod
    def build(
        cls,
        settings: Settings,
        *,
        store: Store | None = None,
        clock: Callable[[], float] = time.time,
    ) -> Services:
        """Build every service of an app from its settings; `store` and `clock` serve tests."""
        metrics = Metrics(settings.metrics_token or None) if settings.metrics_enabled else None
        store = store or open_store(
            settings.storage_url,
            settings.storage_pool_size,
            ActivityBounds(
                max_per_user=settings.max_activity_events_per_user,
                retention_seconds=settings.activity_retention_days * 86400,
            ),
            max_users=settings.memory_store_max_users,
            max_tasks=settings.memory_store_max_tasks,
            max_activity_events=settings.memory_store_max_activity_events,
        )
        hasher = PasswordHasher.from_settings(
            settings, on_wait=None if metrics is None else _hash_queue_observer(metrics)
        )
        codec = TokenCodec(settings)
        # This app's events, counted by this app's metrics only.
        events = Events() if metrics is None else Events(EventCounter(metrics))
        throttle = Throttle(settings, store, events)
        # Every password-only session start passes the second-step gate first.
        challenges = LoginChallenges(store, events, clock)
        devices = DeviceTokens(codec.keyring.device_keys, settings.device_ttl_seconds)
        activity_writer = ActivityWriter(store, events)
        sessions = SessionService(
            settings=settings,
            store=store,
            activity=store,
            codec=codec,
            devices=devices,
            events=events,
            clock=clock,
            second_step=challenges.require_none,
        )
        passwords = PasswordCheck(throttle, hasher)
        check = FactorCheck(settings, store, SecretBox(settings.mfa_keys), events, activity_writer)
        relying_party = RelyingParty(settings)
        passkey_login = PasskeyLogin(
            store=store,
            relying_party=relying_party,
            throttle=throttle,
            check=check,
            sessions=sessions,
            devices=devices,
            activity=activity_writer,
            events=events,
            clock=clock,
        )
        step_up = StepUp(
            settings=settings,
            store=store,
            passwords=passwords,
            check=check,
            passkeys=passkey_login,
            sessions=sessions,
            events=events,
            clock=clock,
        )
        accounts = AccountService(
            settings=settings,
            store=store,
            activity=activity_writer,
            hasher=hasher,
            passwords=passwords,
            throttle=throttle,
            sessions=sessions,
            devices=devices,
            step_up=step_up,
            events=events,
            clock=clock,
        )
        return cls(
            settings=settings,
            store=store,
            hasher=hasher,
            codec=codec,
            events=events,
            accounts=accounts,
            sessions=sessions,
            browser=BrowserService(
                accounts=accounts, sessions=sessions, codec=codec, events=events, clock=clock
            ),
            clients=ClientService(
                settings=settings,
                store=store,
                codec=codec,
                sessions=sessions,
                throttle=throttle,
                events=events,
                clock=clock,
            ),
            tasks=TaskService(store, clock, settings.max_tasks_per_user, throttle),
            activity=ActivityService(store, clock, activity_writer),
            activity_writer=activity_writer,
            mfa=MfaService(
                settings=settings,
                store=store,
                box=check.box,
                check=check,
                step_up=step_up,
                events=events,
                clock=clock,
            ),
            mfa_login=MfaLogin(
                store=store,
                check=check,
                passkeys=passkey_login,
                sessions=sessions,
                devices=devices,
                events=events,
                clock=clock,
            ),
            step_up=step_up,
            passkeys=PasskeyService(
                store=store,
                relying_party=relying_party,
                step_up=step_up,
                events=events,
                clock=clock,
            ),
            passkey_login=passkey_login,
            metrics=metrics,
        )

    @asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        """Open the services for the app's lifespan, and close them when it ends."""
        await self.hasher.warm_up()
        opening = None
        try:
            await self.store.open()
        except StoreUnavailable:
            # A database that is down at startup must not keep the process from starting:
            # requests answer 503 meanwhile, and the store opens as soon as it can.
            opening = asyncio.create_task(_open_when_reachable(self.store))
        # Ended sessions, counters and addresses are deleted in the background, from the start.
        stop_purging = asyncio.Event()
        purging = asyncio.create_task(
            purge_periodically(self.store, self.sessions.now, ready=opening, stop=stop_purging)
        )
        try:
            yield
        finally:
            # Failed logins' events still on their way reach the store before it closes.
            await self.activity_writer.drain()
            # The purge ends after its statement in flight, never in the middle of it.
            stop_purging.set()
            if opening is not None:
                opening.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await purging
            await self.store.close()
            self.hasher.close()
            # uvicorn ends a SIGTERM'd process by raising the signal again once it has shut
            # down, so `logging.shutdown` never runs: the last requests' lines go out here.
            flush_logs()


@dataclass
class ServicesSlot:
    """Where an app's lifespan, request context and /metrics find its services.

    The app factory fills it once. The test suite builds an app once per settings and puts
    fresh services in it before each test (an empty store, the test's clock), never while the
    app runs: building the Connexion app costs a hundred times more than the services.
    """

    services: Services


def services_in(scope: Mapping[str, Any]) -> Services:
    """Return the services the request-context middleware put in this request's scope."""
    services: Services = scope[SCOPE_KEY]
    return services


def _hash_queue_observer(metrics: Metrics) -> Callable[[int, float | None], None]:
    def observe(depth: int, waited: float | None) -> None:
        metrics.hash_queue_depth.set(depth)
        if waited is not None:
            metrics.hash_wait.observe(waited)

    return observe


async def _open_when_reachable(store: Store, retry_seconds: float = 2.0) -> None:
    while True:
        logger.error("store unavailable at startup; retrying in %.0f s", retry_seconds)
        await asyncio.sleep(retry_seconds)
        try:
            await store.open()
            return
        except StoreUnavailable:
            continue
