"""Time one protected GET through each app's ASGI callable: no server, no load generator.

Under load, a shared two-core machine drifts by 10-20 % between rounds; calling the app
directly in one process is steadier, and it isolates the app's own cost from uvicorn's.
The project runs as in the other scenarios (access log to a file, metrics on); it is timed
with its memory of verified tokens and without it, so the PyJWT cost it saves is visible.
"""

from __future__ import annotations

import asyncio
import importlib
import json
import os
from pathlib import Path

from bench.harness.outcome import Measure, Options, Outcome
from bench.harness.paths import PROFILE_PATH
from bench.harness.project_get import (
    REPEATS,
    REQUESTS,
    SECRET,
    WITH_MEMORY,
    WITHOUT_MEMORY,
    time_get,
    time_project,
)


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
    project, fastapi = timings[WITH_MEMORY], timings["fastapi"]
    outcome.notes = [
        f"project/FastAPI cost {project / fastapi:.2f}, without the token memory "
        f"{timings[WITHOUT_MEMORY] / fastapi:.2f}",
        f"the project's access log went to {log_path}",
    ]
    return [outcome]


async def _time_all(log_path: Path) -> dict[str, float]:
    timings, token, profile = await time_project(log_path)
    os.environ.update(BENCH_JWT_SECRET=SECRET, BENCH_USER=json.dumps(profile))
    for name in ("fastapi", "starlette"):
        module = importlib.reload(importlib.import_module(f"bench.baselines.{name}_app"))
        timings[name] = await time_get(module.app, token)
    return timings
