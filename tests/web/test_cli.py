"""The `auth-api` command: refusals at startup, and `migrate`."""

from __future__ import annotations

import os
import socket
import sqlite3
import subprocess
import sys
import time
from contextlib import ExitStack
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from authapi.settings import PLACEHOLDER_SECRET
from tests.backends import migration_head
from tooling.devserver import running_server

STRONG = "k" * 48


def auth_api(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("JWT_", "APP_", "STORAGE"))}
    return subprocess.run(
        [sys.executable, "-m", "authapi", *args],
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=30,
        cwd=Path(__file__).parent,  # away from any developer's .env
    )


@pytest.mark.parametrize(
    ("env", "variable"),
    [
        ({"APP_ENV": "production"}, "JWT_SECRET_KEY"),
        ({"APP_ENV": "production", "JWT_SECRET_KEY": "short"}, "JWT_SECRET_KEY"),
        (
            {"APP_ENV": "production", "JWT_SECRET_KEY": STRONG, "BCRYPT_ROUNDS": "10"},
            "BCRYPT_ROUNDS",
        ),
        ({"APP_ENV": "production", "JWT_SECRET_KEY": STRONG, "CORS_ORIGINS": "*"}, "CORS_ORIGINS"),
        ({"STORAGE_URL": "mysql://db/auth"}, "STORAGE_URL"),
        ({"JWT_SECRET_KEY": STRONG, "LIMIT": "--limit-concurrency=0"}, "--limit-concurrency"),
        ({"JWT_SECRET_KEY": STRONG, "LIMIT": "--timeout-keep-alive=0"}, "--timeout-keep-alive"),
    ],
)
def test_unsafe_configuration_stops_startup_with_one_sentence(
    env: dict[str, str], variable: str
) -> None:
    env = dict(env)
    flags = [env.pop("LIMIT")] if "LIMIT" in env else []
    result = auth_api("--port", "1", *flags, **env)
    assert result.returncode == 2
    assert variable in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert "short" not in result.stderr


def test_several_workers_on_the_memory_store_are_refused() -> None:
    result = auth_api("--workers", "2", JWT_SECRET_KEY=STRONG)
    assert result.returncode == 2
    assert "diverg" in result.stderr


def test_several_workers_without_a_shared_secret_are_refused(tmp_path: Path) -> None:
    result = auth_api("--workers", "2", STORAGE_URL=f"sqlite:///{tmp_path / 'a.db'}")
    assert result.returncode == 2
    assert "JWT_SECRET_KEY" in result.stderr


def test_migrate_brings_a_fresh_database_to_the_current_schema(tmp_path: Path) -> None:
    database = tmp_path / "auth.db"
    result = auth_api("migrate", STORAGE_URL=f"sqlite:///{database}")
    assert result.returncode == 0, result.stderr
    with sqlite3.connect(database) as connection:
        assert connection.execute("SELECT version_num FROM alembic_version").fetchone() == (
            migration_head(),
        )


def test_migrate_reports_an_unreachable_database() -> None:
    result = auth_api("migrate", STORAGE_URL="postgresql://nobody@127.0.0.1:1/none")
    assert result.returncode == 1
    assert "cannot be reached" in result.stderr


@pytest.mark.slow
def test_requests_past_the_concurrency_limit_get_503_at_once() -> None:
    with running_server(args=["--limit-concurrency", "3"]) as url:
        address = urlsplit(url)
        with ExitStack() as held:
            # Three idle connections fill the server; the next request is refused, not queued.
            for _ in range(3):
                held.enter_context(socket.create_connection((address.hostname, address.port)))
            # The kernel hands connections over in the order they came: by the time the
            # server reads this request, it has accepted the three before it.
            refused = requests.get(f"{url}/health", timeout=5)
            assert refused.status_code == 503
        assert served_once_the_three_are_closed(url)


def served_once_the_three_are_closed(url: str, attempts: int = 100) -> bool:
    # The server notices the closes in its own time: ask until it has (each try a 503 or 200).
    for _ in range(attempts):
        status = requests.get(f"{url}/health", timeout=5).status_code
        if status == 200:
            return True
        assert status == 503
        time.sleep(0.1)
    return False


def test_production_with_open_metrics_stops_startup_naming_metrics_token() -> None:
    result = auth_api("--port", "1", APP_ENV="production", JWT_SECRET_KEY=STRONG)
    assert result.returncode == 2
    assert "METRICS_TOKEN" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_placeholder_secret_stops_startup_in_development() -> None:
    result = auth_api("--port", "1", JWT_SECRET_KEY=PLACEHOLDER_SECRET)
    assert result.returncode == 2
    assert "JWT_SECRET_KEY" in result.stderr
    assert PLACEHOLDER_SECRET not in result.stderr


def test_weak_rsa_key_stops_startup_with_one_sentence(tmp_path: Path) -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    pem = tmp_path / "weak.pem"
    pem.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    result = auth_api("--port", "1", JWT_ALGORITHM="RS256", JWT_PRIVATE_KEY_FILE=str(pem))
    assert result.returncode == 2
    assert "JWT_PRIVATE_KEY" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
