"""The `auth-api` console script: check the configuration, then serve with uvicorn."""

from __future__ import annotations

import argparse
import sys

import uvicorn

from authapi.errors import ConfigError
from authapi.settings import Settings


def main(argv: list[str] | None = None) -> int:
    """Serve the API; exit with one sentence when the configuration is unsafe."""
    parser = argparse.ArgumentParser(prog="auth-api", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args(argv)
    try:
        settings = Settings.from_env()
        _check_workers(settings, args.workers)
    except ConfigError as error:
        print(f"auth-api: {error}", file=sys.stderr)
        return 2
    uvicorn.run(
        "authapi.app:app_from_env",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        access_log=False,
        log_config=None,
        server_header=False,
    )
    return 0


def _check_workers(settings: Settings, workers: int) -> None:
    if workers < 1:
        raise ConfigError("--workers must be at least 1.")
    if workers > 1:
        raise ConfigError(
            "--workers above 1 needs a shared store; the memory store would diverge between "
            "processes, so run one worker."
        )
