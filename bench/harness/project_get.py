"""Time the project's protected GET through its ASGI callable, in this process.

`in-process` calls it beside the baselines. `python -m bench.harness.project_get LOG` times
only the project, from whichever `authapi` that Python imports, and prints the µs as JSON:
`claims-cost` starts it in an older checkout too (`bench.harness.trees`). It counts the
process's CPU time rather than the wall clock, so that other work on a shared core does
not count as the app's.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import sys
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path

from bench.baselines.account import PROFILE_MESSAGE
from bench.harness.asgi import ASGIApp, call, running
from bench.harness.paths import LOGIN_PATH, PROFILE_PATH, REGISTER_PATH

REQUESTS = 4000
REPEATS = 5
SECRET = "in-process-benchmark-secret-" + "x" * 20
PASSWORD = "Wq9!vLr2-Zp7#kT"
WITH_MEMORY = "project"
WITHOUT_MEMORY = "project, no token memory"


async def time_project(
    log_path: Path, clock: Callable[[], float] = time.perf_counter
) -> tuple[dict[str, float], str, dict[str, str]]:
    """Time the GET with and without the token memory; return the µs, a token and its profile."""
    import authapi.tokens

    timings: dict[str, float] = {}
    for name, cache_size in ((WITH_MEMORY, None), (WITHOUT_MEMORY, 0)):
        previous = authapi.tokens.VERIFIED_CACHE_SIZE
        if cache_size is not None:
            authapi.tokens.VERIFIED_CACHE_SIZE = cache_size
        try:
            async with _project(log_path) as (app, token, profile):
                timings[name] = await time_get(app, token, clock)
        finally:
            authapi.tokens.VERIFIED_CACHE_SIZE = previous
    return timings, token, profile


async def time_get(
    app: ASGIApp, token: str, clock: Callable[[], float] = time.perf_counter
) -> float:
    """Return the best µs per protected GET with `token`, over REPEATS runs of REQUESTS."""
    status, _ = await call(app, "GET", PROFILE_PATH, token=token)
    if status != 200:
        raise RuntimeError(f"{app!r} answered {status}")
    for _ in range(REQUESTS // 4):
        await call(app, "GET", PROFILE_PATH, token=token)
    best = float("inf")
    for _ in range(REPEATS):
        started = clock()
        for _ in range(REQUESTS):
            await call(app, "GET", PROFILE_PATH, token=token)
        best = min(best, clock() - started)
    return best / REQUESTS * 1e6


@asynccontextmanager
async def _project(log_path: Path) -> AsyncIterator[tuple[ASGIApp, str, dict[str, str]]]:
    from authapi.settings import Settings
    from authapi.web.app import create_app

    settings = Settings(
        jwt_secret_key=SECRET,
        password_hash="bcrypt",
        bcrypt_rounds=4,
        auth_rate_limit_per_minute=0,
        log_level="INFO",
    )
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("a") as log, contextlib.redirect_stdout(log):
        # The app's log handler takes stdout as it finds it when the app is built.
        app = create_app(settings)
        async with running(app):
            credentials = json.dumps({"email": "bench@company.io", "password": PASSWORD}).encode()
            await call(app, "POST", REGISTER_PATH, credentials)
            _, body = await call(app, "POST", LOGIN_PATH, credentials)
            token = json.loads(body)["access_token"]
            status, body = await call(app, "GET", PROFILE_PATH, token=token)
            profile = json.loads(body)
            if status != 200 or profile.get("message") != PROFILE_MESSAGE:
                raise RuntimeError(f"the project did not answer the profile: {status}")
            yield app, token, {key: profile[key] for key in ("id", "email", "created_at")}
        logging.shutdown()


if __name__ == "__main__":
    print(json.dumps(asyncio.run(time_project(Path(sys.argv[1]), time.process_time))[0]))
