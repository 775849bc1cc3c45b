"""The storm's floor app does a login's unavoidable work, the project's way, and nothing else."""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from types import ModuleType

import pytest
from starlette.testclient import TestClient

from authapi.errors import Overloaded

CREDENTIALS = {"email": "Ada@Example.com", "password": "a floor password"}


@pytest.fixture
def floor(monkeypatch: pytest.MonkeyPatch) -> Iterator[ModuleType]:
    # Cheap Argon2id, read from the variables the project reads, as the harness sets them.
    for name, value in {
        "PASSWORD_HASH": "argon2id",
        "ARGON2_MEMORY_KIB": "8",
        "ARGON2_TIME_COST": "1",
        "ARGON2_PARALLELISM": "1",
    }.items():
        monkeypatch.setenv(name, value)
    module = importlib.reload(importlib.import_module("bench.baselines.storm_floor_app"))
    yield module
    module.HASHER.close()


@pytest.fixture
def client(floor: ModuleType) -> Iterator[TestClient]:
    with TestClient(floor.app) as client:
        yield client


def test_floor_hashes_with_the_project_hasher_and_the_settings_it_was_given(
    floor: ModuleType, client: TestClient
) -> None:
    assert client.post("/api/v1/auth/register", json=CREDENTIALS).status_code == 201
    (stored,) = (user[1] for user in floor.USERS.values())
    assert stored.startswith("$argon2id$v=19$m=8,t=1,p=1$")


def test_floor_logs_in_once_the_password_checks_and_serves_the_profile(client: TestClient) -> None:
    client.post("/api/v1/auth/register", json=CREDENTIALS)
    assert client.post("/api/v1/auth/register", json=CREDENTIALS).status_code == 409
    wrong = client.post("/api/v1/auth/login", json={**CREDENTIALS, "password": "not it"})
    assert wrong.status_code == 401
    token = client.post("/api/v1/auth/login", json=CREDENTIALS).json()["access_token"]
    profile = client.get("/api/v1/protected/profile", headers={"Authorization": f"Bearer {token}"})
    assert profile.status_code == 200
    assert profile.json()["email"] == "ada@example.com"
    assert client.get("/api/v1/protected/profile").status_code == 401
    forged = client.get("/api/v1/protected/profile", headers={"Authorization": "Bearer x.y.z"})
    assert forged.status_code == 401


def test_floor_sheds_as_the_project_does_with_a_retry_after(
    floor: ModuleType, client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    client.post("/api/v1/auth/register", json=CREDENTIALS)

    async def busy(password: str, stored: str | None) -> bool:
        raise Overloaded(3)

    monkeypatch.setattr(floor.HASHER, "verify", busy)
    shed = client.post("/api/v1/auth/login", json=CREDENTIALS)
    assert shed.status_code == 503
    assert shed.headers["retry-after"] == "3"


@pytest.mark.parametrize("body", [b"not json", b"[]", b'{"email": 1, "password": "x"}'])
def test_floor_refuses_a_body_without_credentials(client: TestClient, body: bytes) -> None:
    assert client.post("/api/v1/auth/login", content=body).status_code == 400
