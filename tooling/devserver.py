"""Serve the API in a child process on a free port.

The acceptance features, the load smoke and the benchmark all talk to a real uvicorn
server started this way, exactly as `auth-api` starts it.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import IO

# Cheap hashing and a fixed key: fast enough for hundreds of test logins, never for production.
TEST_ENV = {
    "APP_ENV": "development",
    "BCRYPT_ROUNDS": "4",
    # Argon2's least: 8 KiB, one pass (some 50 µs a hash).
    "ARGON2_MEMORY_KIB": "8",
    "ARGON2_TIME_COST": "1",
    "ARGON2_PARALLELISM": "1",
    "JWT_SECRET_KEY": "test-only-secret-key-of-at-least-32-bytes!",
    # 32 bytes of "test-only-mfa-key-32-bytes-long!", in base64: the same in every worker.
    "MFA_ENCRYPTION_KEY": "dGVzdC1vbmx5LW1mYS1rZXktMzItYnl0ZXMtbG9uZyE=",
    "LOG_LEVEL": "INFO",
}


def free_port() -> int:
    """Return a TCP port that is free right now on the loopback interface."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def start_server(
    env: Mapping[str, str] | None = None,
    *,
    workers: int = 1,
    port: int | None = None,
    log: IO[bytes] | int = subprocess.DEVNULL,
    startup_timeout: float = 30.0,
    args: Sequence[str] = (),
    cwd: Path | None = None,
) -> tuple[str, subprocess.Popen[bytes]]:
    """Start `auth-api` with `env` on top of `TEST_ENV`; return its URL once it is healthy.

    `cwd` is where `python -m authapi` starts, and so the first place it imports from: the
    benchmark serves an older checkout of the project that way.
    """
    port = port or free_port()
    command = [sys.executable, "-m", "authapi", "--port", str(port), "--workers", str(workers)]
    command += args
    process = subprocess.Popen(
        command, env={**os.environ, **TEST_ENV, **(env or {})}, stdout=log, stderr=log, cwd=cwd
    )
    base_url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_healthy(base_url, process, startup_timeout)
    except RuntimeError:
        stop_server(process)
        raise
    return base_url, process


def stop_server(process: subprocess.Popen[bytes]) -> None:
    """Stop a server gracefully, or kill it after ten seconds."""
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@contextmanager
def running_server(
    env: Mapping[str, str] | None = None,
    *,
    workers: int = 1,
    log_path: Path | None = None,
    startup_timeout: float = 30.0,
    args: Sequence[str] = (),
) -> Iterator[str]:
    """Start `auth-api` with `env` on top of `TEST_ENV`, yield its base URL, then stop it."""
    log: IO[bytes] | int = subprocess.DEVNULL
    if log_path is not None:
        log_path.parent.mkdir(parents=True, exist_ok=True)
        log = log_path.open("wb")
    try:
        base_url, process = start_server(
            env, workers=workers, log=log, startup_timeout=startup_timeout, args=args
        )
        try:
            yield base_url
        finally:
            stop_server(process)
    finally:
        if not isinstance(log, int):
            log.close()


def _wait_until_healthy(base_url: str, process: subprocess.Popen[bytes], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"auth-api exited with status {process.returncode} at startup")
        try:
            with urllib.request.urlopen(f"{base_url}/health", timeout=1) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"auth-api did not answer /health within {timeout:.0f} s")
