"""The `auth-api` console script: check the configuration, migrate, then serve with uvicorn."""

from __future__ import annotations

import argparse
import asyncio
import sys

import uvicorn

from authapi.errors import ConfigError, StoreUnavailable
from authapi.keys import load_keyring
from authapi.settings import Settings
from authapi.store import open_store

# Per worker: with this many connections open or requests in flight, uvicorn answers any
# further request 503 at once instead of taking on work it cannot finish in time.
LIMIT_CONCURRENCY = 1000
# uvicorn's own default, stated here: an idle keep-alive connection is closed after it.
TIMEOUT_KEEP_ALIVE_SECONDS = 5


def main(argv: list[str] | None = None) -> int:
    """Serve the API, or run `migrate`; exit with one sentence when something is unsafe."""
    parser = argparse.ArgumentParser(prog="auth-api", description=__doc__)
    parser.add_argument("command", nargs="?", choices=["serve", "migrate"], default="serve")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--limit-concurrency", type=int, default=LIMIT_CONCURRENCY)
    parser.add_argument("--timeout-keep-alive", type=int, default=TIMEOUT_KEEP_ALIVE_SECONDS)
    args = parser.parse_args(argv)
    try:
        settings = Settings.from_env()
        # Reading the keys now turns a bad one into one sentence here, not a worker's traceback.
        load_keyring(settings)
        if args.command == "migrate":
            return _migrate(settings)
        _check_workers(settings, args.workers)
        _check_server_limits(args.limit_concurrency, args.timeout_keep_alive)
    except ConfigError as error:
        print(f"auth-api: {error}", file=sys.stderr)
        return 2
    uvicorn.run(
        "authapi.web.app:app_from_env",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        access_log=False,
        log_config=None,
        server_header=False,
        # The client's address is authapi.web.addressing's to decide, from TRUSTED_PROXIES
        # alone: uvicorn's own handling would believe X-Forwarded-For from 127.0.0.1, or from
        # anyone with FORWARDED_ALLOW_IPS=*, and let any client reset its per-address limit.
        proxy_headers=False,
        limit_concurrency=args.limit_concurrency,
        timeout_keep_alive=args.timeout_keep_alive,
    )
    return 0


def _migrate(settings: Settings) -> int:
    if not settings.is_shared_store:
        print("auth-api: the memory store has no schema to migrate.")
        return 0
    store = open_store(settings.storage_url, settings.storage_pool_size)

    async def run() -> None:
        try:
            await store.open()
        finally:
            await store.close()

    try:
        asyncio.run(run())
    except StoreUnavailable:
        print("auth-api: the database in STORAGE_URL cannot be reached.", file=sys.stderr)
        return 1
    print("auth-api: the database schema is up to date.")
    return 0


def _check_workers(settings: Settings, workers: int) -> None:
    if workers < 1:
        raise ConfigError("--workers must be at least 1.")
    if workers == 1:
        return
    if not settings.is_shared_store:
        raise ConfigError(
            "--workers above 1 needs STORAGE_URL to name SQLite or PostgreSQL: with the memory "
            "store each worker would keep its own users and sessions, silently diverging."
        )
    if settings.secret_is_ephemeral:
        variable = "JWT_SECRET_KEY" if settings.uses_hmac else "JWT_PRIVATE_KEY"
        raise ConfigError(
            f"--workers above 1 needs {variable} from the environment: a random "
            "development key would differ in every worker."
        )
    if settings.mfa_key_is_ephemeral:
        raise ConfigError(
            "--workers above 1 needs MFA_ENCRYPTION_KEY from the environment: a random "
            "development key would differ in every worker, and no worker could read the "
            "TOTP secrets another stored."
        )


def _check_server_limits(limit_concurrency: int, timeout_keep_alive: int) -> None:
    if limit_concurrency < 1:
        raise ConfigError("--limit-concurrency must be at least 1.")
    if timeout_keep_alive < 1:
        raise ConfigError("--timeout-keep-alive must be at least 1.")
