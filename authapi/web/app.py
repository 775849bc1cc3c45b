"""The app factory: wire the spec, the handlers, the domain and the middleware."""

from __future__ import annotations

import copy
import functools
import gc
import logging
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from connexion import AsyncApp
from connexion.datastructures import MediaTypeDict
from connexion.middleware import ConnexionMiddleware, MiddlewarePosition
from connexion.middleware.server_error import ServerErrorMiddleware
from connexion.options import SwaggerUIOptions
from connexion.resolver import Resolver
from connexion.validators import VALIDATOR_MAP
from starlette.middleware.cors import CORSMiddleware

from authapi.logs import configure_logging
from authapi.settings import MIN_PRODUCTION_ROUNDS, Settings
from authapi.store import Store
from authapi.web.addressing import ClientAddresses
from authapi.web.app_tuning import SECURITY_MAP, TUNED_MIDDLEWARES, DecorateOnceAsyncApp
from authapi.web.handler_lookup import SECURITY_HANDLERS, resolve_operation
from authapi.web.limits import RequestLimitsMiddleware
from authapi.web.metrics import MetricsApp, MetricsRoute
from authapi.web.middleware import RequestContextMiddleware
from authapi.web.problems import AllowedMethods, OAuthPaths, register_error_handlers
from authapi.web.server_errors import UnexpectedErrors
from authapi.web.services import Services, ServicesSlot
from authapi.web.validation import (
    SafeFormBodyValidator,
    SafeJSONBodyValidator,
    SafeParameterValidator,
)

# openapi/ at the repo's top ships as `authapi.openapi` (pyproject.toml's package-dir), in an
# editable install and in the wheel alike.
SPEC_DIR = Path(str(resources.files("authapi.openapi")))
logger = logging.getLogger(__name__)


def create_app(
    settings: Settings,
    *,
    store: Store | None = None,
    validate_responses: bool = False,
    clock: Callable[[], float] = time.time,
) -> AsyncApp:
    """Build the ASGI app for these settings; tests pass `validate_responses=True` and a clock."""
    app, _ = build_app(settings, store=store, validate_responses=validate_responses, clock=clock)
    return app


def build_app(
    settings: Settings,
    *,
    store: Store | None = None,
    validate_responses: bool = False,
    clock: Callable[[], float] = time.time,
) -> tuple[AsyncApp, ServicesSlot]:
    """Build the app and the slot holding its services, which a test may refill between runs."""
    configure_logging(settings.log_level)
    _warn_about_development_defaults(settings)
    # The lifespan, the request context and /metrics read the services from the slot, so that
    # the test suite can build the app once and serve each test with fresh ones.
    slot = ServicesSlot(Services.build(settings, store=store, clock=clock))

    @asynccontextmanager
    async def lifespan(_app: object) -> AsyncIterator[None]:
        async with slot.services.running():
            yield

    # Stock Connexion when the tuning is off: tests/web/test_app_tuning.py holds both to one answer.
    middlewares = (
        TUNED_MIDDLEWARES if settings.connexion_tuning else ConnexionMiddleware.default_middlewares
    )
    app_class = DecorateOnceAsyncApp if settings.connexion_tuning else AsyncApp
    app = app_class(
        __name__,
        specification_dir=SPEC_DIR,
        lifespan=lifespan,
        strict_validation=True,
        validator_map={
            **VALIDATOR_MAP,
            "body": MediaTypeDict(
                {
                    "*/*json": SafeJSONBodyValidator,
                    "application/x-www-form-urlencoded": SafeFormBodyValidator,
                }
            ),
            "parameter": SafeParameterValidator,
        },
        swagger_ui_options=SwaggerUIOptions(swagger_ui_path="/docs"),
        # Operation or security function, `handlers.m.f` in the spec means `authapi.handlers.m.f`.
        resolver=Resolver(function_resolver=resolve_operation),
        security_map=SECURITY_MAP if settings.connexion_tuning else SECURITY_HANDLERS,
        # Either way, Connexion's outermost layer gives way to one that answers a problem.
        middlewares=[
            UnexpectedErrors if middleware is ServerErrorMiddleware else middleware
            for middleware in middlewares
        ],
    )
    # Connexion fills its defaults into the dict it is given: each app gets a copy of its own.
    app.add_api(copy.deepcopy(_spec()), validate_responses=validate_responses)
    spec_paths = _spec()["paths"]
    register_error_handlers(app, AllowedMethods(spec_paths), OAuthPaths(spec_paths))
    # One memory of peers, for /metrics (answered first) and for every other request.
    client_addresses = ClientAddresses(settings.trusted_proxies, settings.client_ipv6_prefix)
    # Added outermost first: /metrics, context (ids, logs, headers), then CORS, then the limits.
    if settings.metrics_enabled:
        app.add_middleware(
            MetricsRoute,
            position=MiddlewarePosition.BEFORE_EXCEPTION,
            endpoint=MetricsApp(slot, client_addresses, settings.auth_rate_limit_per_minute),
        )
    app.add_middleware(
        RequestContextMiddleware, position=MiddlewarePosition.BEFORE_EXCEPTION, slot=slot
    )
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            position=MiddlewarePosition.BEFORE_EXCEPTION,
            allow_origins=list(settings.cors_origins),
            allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
            allow_headers=["Authorization", "Content-Type", "X-Request-ID", "X-CSRF-Token"],
            # Browser sessions need their cookie on listed origins' requests; never with '*',
            # which would hand any site credentialed access in development.
            allow_credentials="*" not in settings.cors_origins,
            expose_headers=["X-Request-ID", "WWW-Authenticate", "Retry-After"],
        )
    app.add_middleware(
        RequestLimitsMiddleware,
        position=MiddlewarePosition.BEFORE_EXCEPTION,
        max_body_bytes=settings.max_body_bytes,
        client_addresses=client_addresses,
        read_timeout_seconds=settings.request_read_timeout_seconds,
    )
    return app, slot


@functools.cache
def _spec() -> dict[str, Any]:
    # Parsed once per process: the YAML parse was most of the cost of building an app.
    spec: dict[str, Any] = yaml.safe_load((SPEC_DIR / "auth.yaml").read_text(encoding="utf-8"))
    return spec


def app_from_env() -> AsyncApp:
    """Build the app from the environment; the entry point uvicorn calls in each worker."""
    app = create_app(Settings.from_env())
    # The spec, its validators and the modules are some 70,000 objects that live as long as
    # the process; a full garbage collection walking them all paused every request in
    # flight for 20-30 ms. Frozen, they are left out of every collection from now on.
    gc.collect()
    gc.freeze()
    return app


def _warn_about_development_defaults(settings: Settings) -> None:
    if settings.app_env_is_default:
        logger.warning(
            "APP_ENV is not set: running as development, which accepts settings that "
            "production refuses. Set APP_ENV=production for a deployment, or "
            "APP_ENV=development to say this is not one."
        )
    if settings.secret_is_ephemeral:
        variable = "JWT_SECRET_KEY" if settings.uses_hmac else "JWT_PRIVATE_KEY"
        logger.warning(
            "%s is not set: using a random key for this process only. "
            "Every token dies with the process. Set %s for anything but a trial.",
            variable,
            variable,
        )
    if settings.mfa_key_is_ephemeral:
        logger.warning(
            "MFA_ENCRYPTION_KEY is not set: TOTP secrets are encrypted under a key made up "
            "for this process only, and every factor enrolled becomes unusable when it ends. "
            "Set MFA_ENCRYPTION_KEY for anything but a trial."
        )
    if settings.password_hash == "bcrypt" and settings.bcrypt_rounds < MIN_PRODUCTION_ROUNDS:
        logger.warning(
            "BCRYPT_ROUNDS is %d, below the production minimum of %d; fine for tests only.",
            settings.bcrypt_rounds,
            MIN_PRODUCTION_ROUNDS,
        )
    if settings.password_hash == "argon2id" and not settings.argon2.meets_owasp_minimum():
        logger.warning(
            "ARGON2_MEMORY_KIB and ARGON2_TIME_COST are below OWASP's minimum Argon2id "
            "profile; fine for tests only."
        )
