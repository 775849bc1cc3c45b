"""examples/resource_server.py against a real auth-api server signing with Ed25519."""

from __future__ import annotations

import importlib.util
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import jwt
import pytest
import requests
from starlette.testclient import TestClient

from authapi.keys import generate_private_key_pem, load_keyring
from authapi.settings import Settings
from tests.api_moves import PASSWORD
from tooling.devserver import running_server

# One worker runs the module's server (and writes its log) once for all its tests.
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("resource-server")]

ROOT = Path(__file__).resolve().parents[2]
RS_ID, RS_SECRET = "notes", "notes-service-secret-of-at-least-32-bytes"
PRIVATE_KEY = generate_private_key_pem("EdDSA")


def _example() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "resource_server", ROOT / "examples" / "resource_server.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["resource_server"] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def auth_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    key_file = tmp_path_factory.mktemp("keys") / "signing.pem"
    key_file.write_text(PRIVATE_KEY)
    env = {
        "JWT_ALGORITHM": "EdDSA",
        "JWT_PRIVATE_KEY_FILE": str(key_file),
        "INTROSPECTION_CLIENTS": f"{RS_ID}:{RS_SECRET}",
        "AUTH_RATE_LIMIT_PER_MINUTE": "0",
        "REGISTRATIONS_PER_ADDRESS_PER_DAY": "0",
        "TASK_WRITES_PER_MINUTE": "0",
    }
    with running_server(env, log_path=ROOT / "build" / "resource-server-auth.log") as url:
        yield url


@pytest.fixture(scope="module")
def notes(auth_api: str) -> Iterator[TestClient]:
    example = _example()
    tokens = example.AccessTokens(auth_api, RS_ID, RS_SECRET, "auth-api", "auth-api")
    with TestClient(example.create_app(tokens)) as client:
        yield client


def _login(auth_api: str, email: str) -> dict[str, Any]:
    account = {"email": email, "password": PASSWORD}
    assert requests.post(f"{auth_api}/api/v1/auth/register", json=account, timeout=10).ok
    response = requests.post(f"{auth_api}/api/v1/auth/login", json=account, timeout=10)
    assert response.status_code == 200, response.text
    tokens: dict[str, Any] = response.json()
    return tokens


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _signed(**changes: Any) -> str:
    """Sign an access token with the server's own key, with some claims or header changed."""
    ring = load_keyring(Settings(jwt_algorithm="EdDSA", jwt_private_key=PRIVATE_KEY))
    now = int(time.time())
    claims = {
        "iss": "auth-api",
        "aud": "auth-api",
        "sub": "someone",
        "sid": "a-session",
        "jti": "an-id",
        "type": "access",
        "iat": now,
        "exp": now + 600,
    }
    header = {"kid": ring.signing_kid, "typ": changes.pop("typ", "at+jwt")}
    claims.update(changes)
    return jwt.encode(claims, ring.signing_key, algorithm="EdDSA", headers=header)


def test_an_access_token_opens_the_resource_server(auth_api: str, notes: TestClient) -> None:
    tokens = _login(auth_api, "rs-reader@example.com")
    response = notes.get("/notes", headers=_bearer(tokens["access_token"]))
    assert response.status_code == 200, response.text
    profile = requests.get(
        f"{auth_api}/api/v1/protected/profile", headers=_bearer(tokens["access_token"]), timeout=10
    ).json()
    assert response.json()["owner"] == profile["id"]


def test_a_refresh_token_does_not_open_the_resource_server(
    auth_api: str, notes: TestClient
) -> None:
    tokens = _login(auth_api, "rs-refresh@example.com")
    assert notes.get("/notes", headers=_bearer(tokens["refresh_token"])).status_code == 401


@pytest.mark.parametrize(
    "changes",
    [
        {"typ": "JWT"},
        {"iss": "someone-else"},
        {"aud": "another-service"},
        {"exp": int(time.time()) - 60},
    ],
    ids=["typ", "iss", "aud", "exp"],
)
def test_each_check_of_the_resource_server_refuses_on_its_own(
    notes: TestClient, changes: dict[str, Any]
) -> None:
    # The control: the same token without the change passes the local check.
    assert notes.get("/notes", headers=_bearer(_signed())).status_code == 200
    assert notes.get("/notes", headers=_bearer(_signed(**changes))).status_code == 401


def test_a_token_signed_by_another_key_is_refused(notes: TestClient) -> None:
    other = generate_private_key_pem("EdDSA")
    ring = load_keyring(Settings(jwt_algorithm="EdDSA", jwt_private_key=other))
    token = jwt.encode(
        {"iss": "auth-api", "aud": "auth-api", "sub": "x", "iat": 1, "exp": 2**40},
        ring.signing_key,
        algorithm="EdDSA",
        headers={"kid": ring.signing_kid, "typ": "at+jwt"},
    )
    assert notes.get("/notes", headers=_bearer(token)).status_code == 401


def test_logout_stops_the_introspected_route_at_once_and_the_local_one_at_expiry(
    auth_api: str, notes: TestClient
) -> None:
    tokens = _login(auth_api, "rs-payer@example.com")
    headers = _bearer(tokens["access_token"])
    assert notes.post("/payments", headers=headers).status_code == 200
    logout = requests.post(f"{auth_api}/api/v1/auth/logout", headers=headers, timeout=10)
    assert logout.status_code == 204
    assert notes.post("/payments", headers=headers).status_code == 401
    # What the README warns about: local verification cannot see the logout.
    assert notes.get("/notes", headers=headers).status_code == 200


def test_jwks_may_be_cached_for_as_long_as_the_example_keeps_keys(auth_api: str) -> None:
    response = requests.get(f"{auth_api}/.well-known/jwks.json", timeout=10)
    assert response.headers["cache-control"] == "public, max-age=300"
    assert _example().JWKS_CACHE_SECONDS == 300
    assert [key["alg"] for key in response.json()["keys"]] == ["EdDSA"]
