"""Start the project and the baselines under uvicorn, pinned, and sign up a user to get a token."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from authapi.web.cli import LIMIT_CONCURRENCY, TIMEOUT_KEEP_ALIVE_SECONDS
from bench import REPO_ROOT
from bench.harness.cpu import Cores, inherited_affinity
from bench.harness.paths import LOGIN_PATH, PROFILE_PATH, REGISTER_PATH
from bench.harness.trees import Tree
from tooling.devserver import TEST_ENV, free_port, start_server, stop_server

# The baselines are bare on purpose: no access log, no Server header, warnings only; they
# get the project's server limits and, like it, ignore proxy headers.
UVICORN_FLAGS = [
    "--workers",
    "1",
    "--no-access-log",
    "--no-server-header",
    "--log-level",
    "warning",
    "--no-proxy-headers",
    "--limit-concurrency",
    str(LIMIT_CONCURRENCY),
    "--timeout-keep-alive",
    str(TIMEOUT_KEEP_ALIVE_SECONDS),
]
# The project runs as deployed: its JSON access line for every request at INFO, written to
# a file (`logs/NAME.log`) the way a log collector would take it, the session revocation
# check on every authenticated request, and /metrics on. Set explicitly, so that a stray
# variable in the caller's shell cannot switch any of it off.
PROJECT_ENV = {
    **TEST_ENV,
    "LOG_LEVEL": "INFO",
    "METRICS_ENABLED": "true",
    "STORAGE_URL": "memory://",
    # Long enough that the token outlives any run of the harness.
    "ACCESS_TOKEN_EXPIRE_MINUTES": "240",
}
BASELINE_MODULES = {
    "starlette": "bench.baselines.starlette_app:app",
    "fastapi": "bench.baselines.fastapi_app:app",
}
FLOOR_MODULE = "bench.baselines.storm_floor_app:app"


@dataclass(frozen=True)
class Server:
    """A running app: its name, base URL and the process whose tree does the work."""

    name: str
    base_url: str
    pid: int


@dataclass(frozen=True)
class Account:
    """A user signed up on the project: a bearer access token and the profile it returns."""

    access_token: str
    profile: dict[str, str]

    @property
    def headers(self) -> dict[str, str]:
        """Return the request headers that authenticate as this user."""
        return {"Authorization": f"Bearer {self.access_token}"}


@contextmanager
def project_server(
    name: str,
    *,
    cores: Cores,
    log_dir: Path,
    workers: int = 1,
    env: Mapping[str, str] | None = None,
    tree: Tree | None = None,
) -> Iterator[Server]:
    """Serve the project with `auth-api` on `cores`, its output in `log_dir/NAME.log`.

    `tree` serves an older checkout (`bench.harness.trees`) instead of the current tree.
    """
    log_dir.mkdir(parents=True, exist_ok=True)
    variables = {**PROJECT_ENV, **(tree.env if tree else {}), **(env or {})}
    cwd = tree.root if tree else None
    with (log_dir / f"{name}.log").open("wb") as log, inherited_affinity(cores):
        base_url, process = start_server(variables, workers=workers, log=log, cwd=cwd)
    try:
        yield Server(name, base_url, process.pid)
    finally:
        stop_server(process)


@contextmanager
def baseline_server(
    name: str, account: Account, *, cores: Cores, log_dir: Path
) -> Iterator[Server]:
    """Serve a baseline with the same uvicorn flags on `cores`, seeded with `account`."""
    # The project's own key: the baselines verify the very token it issued.
    secret = PROJECT_ENV["JWT_SECRET_KEY"]
    env = {"BENCH_JWT_SECRET": secret, "BENCH_USER": json.dumps(account.profile)}
    with _uvicorn_server(name, BASELINE_MODULES[name], env, cores, log_dir) as server:
        yield server


@contextmanager
def floor_server(
    name: str, *, cores: Cores, log_dir: Path, env: Mapping[str, str]
) -> Iterator[Server]:
    """Serve the login storm's floor (`bench.baselines.storm_floor_app`) with `env`'s hash."""
    with _uvicorn_server(name, FLOOR_MODULE, env, cores, log_dir) as server:
        yield server


@contextmanager
def _uvicorn_server(
    name: str, module: str, env: Mapping[str, str], cores: Cores, log_dir: Path
) -> Iterator[Server]:
    port = free_port()
    command = [sys.executable, "-m", "uvicorn", module, "--port", str(port)]
    log_dir.mkdir(parents=True, exist_ok=True)
    with (log_dir / f"{name}.log").open("wb") as log, inherited_affinity(cores):
        process = subprocess.Popen(
            [*command, "--host", "127.0.0.1", *UVICORN_FLAGS],
            cwd=REPO_ROOT,
            env={**os.environ, **env},
            stdout=log,
            stderr=log,
        )
    base_url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_listening(base_url, process)
        yield Server(name, base_url, process.pid)
    finally:
        stop_server(process)


def sign_up(base_url: str) -> Account:
    """Register and log in a fresh user on the project; return its token and profile."""
    credentials = {
        "email": f"bench-{secrets.token_hex(6)}@example.com",
        "password": f"bench {secrets.token_urlsafe(18)}",
    }
    post_json(base_url + REGISTER_PATH, credentials)
    tokens = post_json(base_url + LOGIN_PATH, credentials)
    token = tokens["access_token"]
    status, profile = get_json(base_url + PROFILE_PATH, {"Authorization": f"Bearer {token}"})
    if status != 200:
        raise RuntimeError(f"the project refused its own fresh token: {status} {profile}")
    return Account(token, profile)


def check_same_answer(servers: list[Server], account: Account) -> None:
    """Refuse to race apps that do not return the project's very profile for the token."""
    for server in servers:
        status, body = get_json(server.base_url + PROFILE_PATH, account.headers)
        if status != 200 or body != account.profile:
            raise RuntimeError(f"{server.name} answered {status} {body}, not the profile")


def get_json(url: str, headers: Mapping[str, str]) -> tuple[int, Any]:
    """GET `url` and return the status and the decoded JSON body, errors included."""
    request = urllib.request.Request(url, headers=dict(headers))
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


def post_json(url: str, body: Mapping[str, str], headers: Mapping[str, str] | None = None) -> Any:
    """POST `body` as JSON and return the decoded answer; raise on an error status."""
    request = urllib.request.Request(
        url,
        data=json.dumps(body).encode(),
        headers={**(headers or {}), "Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.load(response)
    except urllib.error.HTTPError as error:
        detail = error.read().decode(errors="replace")
        raise RuntimeError(f"POST {url} answered {error.code}: {detail}") from None


def _wait_until_listening(
    base_url: str, process: subprocess.Popen[bytes], timeout: float = 30.0
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{base_url} exited with status {process.returncode} at startup")
        try:
            get_json(base_url + PROFILE_PATH, {})
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"{base_url} did not answer within {timeout:.0f} s")
