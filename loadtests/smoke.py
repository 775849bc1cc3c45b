"""Run a short headless Locust smoke against a freshly started server (`make smoke`).

The personas and thresholds are the full profile's; only the size and length of the run
differ, and they are given on the command line, where they win over `locust.conf`.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tooling.devserver import running_server

ROOT = Path(__file__).resolve().parent.parent
BUILD = ROOT / "build"
USERS = 100
SPAWN_RATE = 50
RUN_TIME = "20s"
# Every simulated user comes from 127.0.0.1; the per-address limit would refuse them all.
SERVER_ENV = {
    "AUTH_RATE_LIMIT_PER_MINUTE": "0",
    "REGISTRATIONS_PER_ADDRESS_PER_DAY": "0",
    "TASK_WRITES_PER_MINUTE": "0",
}


def locust_command(host: str) -> list[str]:
    """Return the Locust command line for the smoke run against `host`."""
    return [
        sys.executable,
        "-m",
        "locust",
        "--config",
        str(ROOT / "loadtests" / "locust.conf"),
        "--locustfile",
        str(ROOT / "loadtests" / "locustfile.py"),
        "--headless",
        "--host",
        host,
        "--users",
        str(USERS),
        "--spawn-rate",
        str(SPAWN_RATE),
        "--run-time",
        RUN_TIME,
        "--stop-timeout",
        "5",
        "--only-summary",
        "--csv",
        str(BUILD / "smoke"),
    ]


def main() -> int:
    """Start a server, run the smoke against it and return Locust's exit code."""
    BUILD.mkdir(exist_ok=True)
    with running_server(SERVER_ENV, log_path=BUILD / "smoke-server.log") as base_url:
        completed = subprocess.run(locust_command(base_url), cwd=ROOT, check=False, timeout=180)
    return completed.returncode


if __name__ == "__main__":
    sys.exit(main())
