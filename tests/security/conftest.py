"""The attack suite: the memory store keeps it fast, except where a test asks for every backend.

Shared here: raw JWT building (for tokens PyJWT refuses to make), the one answer every
refused token must get, and a log capture.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
from collections.abc import Iterator
from typing import Any

import jwt
import pytest

from authapi.logs import JsonFormatter
from authapi.passwords import PasswordHasher

# Every refused token gets exactly this, whatever was wrong with it: no oracle for attackers.
TOKEN_REFUSED = {
    "type": "about:blank",
    "title": "Unauthorized",
    "detail": "The token is invalid, expired or revoked.",
    "status": 401,
}
INVALID_TOKEN_CHALLENGE = 'Bearer realm="auth-api", error="invalid_token"'


@pytest.fixture
def store_url() -> str:
    return "memory://"


def b64url(raw: bytes) -> str:
    """Encode bytes as unpadded base64url, as JWS does."""
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def segment(value: object) -> str:
    """Encode a JSON value as one JWS segment."""
    return b64url(json.dumps(value, separators=(",", ":")).encode())


def raw_jwt(header: dict[str, Any], claims: dict[str, Any], signature: bytes = b"") -> str:
    """Assemble a token from parts, with whatever signature the attack needs."""
    return f"{segment(header)}.{segment(claims)}.{b64url(signature)}"


def hmac_jwt(
    key: bytes, header: dict[str, Any], claims: dict[str, Any], digest: str = "sha256"
) -> str:
    """Sign with HMAC under any key, even a PEM that PyJWT would refuse to use as a secret."""
    signing_input = f"{segment(header)}.{segment(claims)}"
    mac = hmac.new(key, signing_input.encode(), getattr(hashlib, digest)).digest()
    return f"{signing_input}.{b64url(mac)}"


def claims_of(token: str) -> dict[str, Any]:
    """Read a token's claims without verifying it (the attacker's view)."""
    claims: dict[str, Any] = jwt.decode(token, options={"verify_signature": False})
    return claims


def header_of(token: str) -> dict[str, Any]:
    """Read a token's header without verifying it."""
    header: dict[str, Any] = jwt.get_unverified_header(token)
    return header


def assert_token_refused(response: Any) -> None:
    """Assert the one and only answer to a refused token."""
    assert response.status_code == 401, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["www-authenticate"] == INVALID_TOKEN_CHALLENGE
    assert response.json() == TOKEN_REFUSED


@pytest.fixture
def log_lines(app: Any) -> Iterator[list[str]]:
    """Every log line written while the test runs, formatted as the app writes it to stdout."""
    # After `app`: building the app configures logging, which replaces the root's handlers.
    lines: list[str] = []
    formatter = JsonFormatter()

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(formatter.format(record))

    root = logging.getLogger()
    level, handler = root.level, Collect(level=logging.DEBUG)
    # DEBUG is a supported LOG_LEVEL, so the promise must hold there too.
    root.setLevel(logging.DEBUG)
    root.addHandler(handler)
    yield lines
    root.removeHandler(handler)
    root.setLevel(level)


@pytest.fixture
def bcrypt_calls(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Count every bcrypt check the app makes, dummy ones for unknown emails included."""
    calls: list[str] = []
    verify = PasswordHasher.verify_sync

    def spy(self: PasswordHasher, password: str, password_hash: str) -> bool:
        calls.append("verify")
        return verify(self, password, password_hash)

    monkeypatch.setattr(PasswordHasher, "verify_sync", spy)
    return calls
