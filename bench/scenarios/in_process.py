"""Time one protected GET through each app's ASGI callable: no server, no load generator.

Under load, a shared two-core machine drifts by 10-20 % between rounds; calling the app
directly in one process is steadier, and it isolates the app's own cost from uvicorn's.
The project runs as in the other scenarios (access log to a file, metrics on); it is timed
with its memory of verified tokens and without it, so the PyJWT cost it saves is visible.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import json
import logging
import os
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from bench.baselines.account import PROFILE_MESSAGE
from bench.harness.asgi import ASGIApp, call, running
from bench.harness.outcome import Measure, Options, Outcome
from bench.harness.paths import LOGIN_PATH, PROFILE_PATH, REGISTER_PATH

REQUESTS = 4000
REPEATS = 5
SECRET = "in-process-benchmark-secret-" + "x" * 20
PASSWORD = "Wq9!vLr2-Zp7#kT"


def run(options: Options) -> list[Outcome]:
    """Report microseconds per protected GET for the project and both baselines."""
    log_path = options.output_dir / "logs" / "in-process.log"
    timings = asyncio.run(_time_all(log_path))
    outcome = Outcome(
        "in-process",
        f"GET {PROFILE_PATH} through each ASGI app directly, best of {REPEATS} x "
        f"{REQUESTS:,} requests",
    )
    outcome.measures = [Measure(name, micros, "µs") for name, micros in timings.items()]
    project, fastapi = timings["project"], timings["fastapi"]
    outcome.notes = [
        f"project/FastAPI cost {project / fastapi:.2f}, without the token memory "
        f"{timings['project, no token memory'] / fastapi:.2f}",
        f"the project's access log went to {log_path}",
    ]
    return [outcome]


async def _time_all(log_path: Path) -> dict[str, float]:
    import authapi.tokens

    timings: dict[str, float] = {}
    for name, cache_size in (("project", None), ("project, no token memory", 0)):
        previous = authapi.tokens.VERIFIED_CACHE_SIZE
        if cache_size is not None:
            authapi.tokens.VERIFIED_CACHE_SIZE = cache_size
        try:
            async with _project(log_path) as (app, token, profile):
                timings[name] = await _time(app, token)
        finally:
            authapi.tokens.VERIFIED_CACHE_SIZE = previous
    os.environ.update(BENCH_JWT_SECRET=SECRET, BENCH_USER=json.dumps(profile))
    for name in ("fastapi", "starlette"):
        module = importlib.reload(importlib.import_module(f"bench.baselines.{name}_app"))
        timings[name] = await _time(module.app, token)
    return timings


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


async def _time(app: ASGIApp, token: str) -> float:
    status, _ = await call(app, "GET", PROFILE_PATH, token=token)
    if status != 200:
        raise RuntimeError(f"{app!r} answered {status}")
    for _ in range(REQUESTS // 4):
        await call(app, "GET", PROFILE_PATH, token=token)
    best = float("inf")
    for _ in range(REPEATS):
        started = time.perf_counter()
        for _ in range(REQUESTS):
            await call(app, "GET", PROFILE_PATH, token=token)
        best = min(best, time.perf_counter() - started)
    return best / REQUESTS * 1e6
