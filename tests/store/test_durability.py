"""SQLite keeps every write it answered 2xx through a kill -9 of the server."""

from __future__ import annotations

import signal
from pathlib import Path

import pytest
import requests

from tooling.devserver import start_server, stop_server

pytestmark = pytest.mark.slow


def test_answered_writes_and_sessions_survive_kill_9(tmp_path: Path) -> None:
    env = {"STORAGE_URL": f"sqlite:///{tmp_path / 'auth.db'}"}
    url, server = start_server(env)
    try:
        credentials = {"email": "ada@example.com", "password": "correct horse battery"}
        assert requests.post(f"{url}/api/v1/auth/register", json=credentials).status_code == 201
        kept = requests.post(f"{url}/api/v1/auth/login", json=credentials).json()
        ended = requests.post(f"{url}/api/v1/auth/login", json=credentials).json()
        bearer = {"Authorization": f"Bearer {kept['access_token']}"}
        task = requests.post(f"{url}/api/v1/tasks", json={"title": "survive"}, headers=bearer)
        assert task.status_code == 201
        logout = requests.post(
            f"{url}/api/v1/auth/logout",
            headers={"Authorization": f"Bearer {ended['access_token']}"},
        )
        assert logout.status_code == 204
    finally:
        server.send_signal(signal.SIGKILL)
        server.wait()

    # On a port of its own: the old one may have gone to another test meanwhile.
    url, server = start_server(env)
    try:
        assert requests.post(f"{url}/api/v1/auth/register", json=credentials).status_code == 409
        tasks = requests.get(f"{url}/api/v1/tasks", headers=bearer).json()["items"]
        assert [t["title"] for t in tasks] == ["survive"]
        refreshed = requests.post(
            f"{url}/api/v1/auth/refresh", json={"refresh_token": kept["refresh_token"]}
        )
        assert refreshed.status_code == 200
        revoked = requests.post(
            f"{url}/api/v1/auth/refresh", json={"refresh_token": ended["refresh_token"]}
        )
        assert revoked.status_code == 401
    finally:
        stop_server(server)
