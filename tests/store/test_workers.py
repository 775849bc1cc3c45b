"""Two uvicorn workers sharing one database see each other's writes at once."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests

from tests.backends import storage_url
from tooling.devserver import running_server

# "heavy": two server workers and twenty requests in flight, never beside another heavy test.
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("heavy")]


def fresh(url: str) -> requests.Session:
    # A new connection per request, so the kernel spreads requests over both workers.
    session = requests.Session()
    session.headers["Connection"] = "close"
    return session


def wait_until_started(log_path: Path, workers: int, timeout: float = 15.0) -> None:
    # The server answers its health check as soon as one worker is up; wait for all.
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        started = {
            line["pid"]
            for line in map(json.loads, log_path.read_text().splitlines())
            if line.get("msg") == "Application startup complete."
        }
        if len(started) >= workers:
            return
        time.sleep(0.1)
    raise AssertionError(f"only {len(started)} of {workers} workers started")


def twenty_at_once(request: Callable[[], requests.Response]) -> list[requests.Response]:
    # One at a time, a fast request often lands on the worker that just answered the last:
    # Linux wakes the latest waiter first. Eight in flight keep both workers accepting.
    with ThreadPoolExecutor(max_workers=8) as pool:
        return list(pool.map(lambda _: request(), range(20)))


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_two_workers_share_registrations_rotations_and_logouts(
    backend: str, tmp_path: Path
) -> None:
    log_path = tmp_path / "server.log"
    with (
        storage_url(backend, tmp_path) as store,
        # Twenty-one registrations from one address are past the daily limit, which both
        # workers count in the shared store: what is pinned here is the unique email.
        running_server(
            {"STORAGE_URL": store, "REGISTRATIONS_PER_ADDRESS_PER_DAY": "0"},
            workers=2,
            log_path=log_path,
        ) as url,
    ):
        wait_until_started(log_path, workers=2)
        credentials = {"email": "ada@example.com", "password": "correct horse battery"}
        assert fresh(url).post(f"{url}/api/v1/auth/register", json=credentials).status_code == 201
        again = twenty_at_once(
            lambda: fresh(url).post(f"{url}/api/v1/auth/register", json=credentials)
        )
        assert {response.status_code for response in again} == {409}

        tokens = fresh(url).post(f"{url}/api/v1/auth/login", json=credentials).json()
        rotated = fresh(url).post(
            f"{url}/api/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]}
        )
        assert rotated.status_code == 200
        spent = twenty_at_once(
            lambda: fresh(url).post(
                f"{url}/api/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]}
            )
        )
        assert {response.status_code for response in spent} == {401}

        bearer = {"Authorization": f"Bearer {rotated.json()['access_token']}"}
        profiles = twenty_at_once(
            lambda: fresh(url).get(f"{url}/api/v1/protected/profile", headers=bearer)
        )
        assert {response.status_code for response in profiles} == {200}
        assert fresh(url).post(f"{url}/api/v1/auth/logout", headers=bearer).status_code == 204
        after = twenty_at_once(
            lambda: fresh(url).get(f"{url}/api/v1/protected/profile", headers=bearer)
        )
        assert {response.status_code for response in after} == {401}
        # On a busy machine the kernel may still have handed every connection to one worker:
        # keep asking (each answer must still be the refusal) until both have served.
        deadline = time.monotonic() + 20
        while len(serving_workers(log_path)) < 2 and time.monotonic() < deadline:
            more = twenty_at_once(
                lambda: fresh(url).get(f"{url}/api/v1/protected/profile", headers=bearer)
            )
            assert {response.status_code for response in more} == {401}
            time.sleep(0.6)  # the access log reaches the file within half a second

    assert len(serving_workers(log_path)) == 2, "every request landed on one worker"


def serving_workers(log_path: Path) -> set[int]:
    pids: set[int] = set()
    for raw in log_path.read_text().splitlines():
        try:
            line = json.loads(raw)
        except ValueError:
            continue  # a line the server is still writing
        if line.get("msg") == "request" and line.get("path", "").startswith("/api/"):
            pids.add(line["pid"])
    return pids
