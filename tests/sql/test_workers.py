"""Two uvicorn workers sharing one database see each other's writes at once."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import requests

from authapi.devserver import running_server
from tests.backends import storage_url

pytestmark = pytest.mark.slow


def fresh(url: str) -> requests.Session:
    # A new connection per request, so the kernel spreads requests over both workers.
    session = requests.Session()
    session.headers["Connection"] = "close"
    return session


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_two_workers_share_registrations_rotations_and_logouts(
    backend: str, tmp_path: Path
) -> None:
    log_path = tmp_path / "server.log"
    with (
        storage_url(backend, tmp_path) as store,
        running_server({"STORAGE_URL": store}, workers=2, log_path=log_path) as url,
    ):
        credentials = {"email": "ada@example.com", "password": "correct horse battery"}
        assert fresh(url).post(f"{url}/api/v1/auth/register", json=credentials).status_code == 201
        for _ in range(20):
            again = fresh(url).post(f"{url}/api/v1/auth/register", json=credentials)
            assert again.status_code == 409

        tokens = fresh(url).post(f"{url}/api/v1/auth/login", json=credentials).json()
        rotated = fresh(url).post(
            f"{url}/api/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]}
        )
        assert rotated.status_code == 200
        for _ in range(20):
            spent = fresh(url).post(
                f"{url}/api/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]}
            )
            assert spent.status_code == 401

        bearer = {"Authorization": f"Bearer {rotated.json()['access_token']}"}
        for _ in range(20):
            assert fresh(url).get(f"{url}/api/v1/protected/profile", headers=bearer).ok
        assert fresh(url).post(f"{url}/api/v1/auth/logout", headers=bearer).status_code == 204
        for _ in range(20):
            after = fresh(url).get(f"{url}/api/v1/protected/profile", headers=bearer)
            assert after.status_code == 401

    serving = {
        line["pid"]
        for line in map(json.loads, log_path.read_text().splitlines())
        if line.get("msg") == "request" and line.get("path", "").startswith("/api/")
    }
    assert len(serving) == 2, "every request landed on one worker"
