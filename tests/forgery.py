"""Tokens made the way an attacker or a test needs them: signed like the server's, or not."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any

import jwt

from authapi.keys import hmac_kid
from authapi.tokens import TOKEN_TYP
from tests.config import SECRET


def forge(
    claims: dict[str, Any], key: str = SECRET, algorithm: str = "HS256", **header: Any
) -> str:
    """Sign arbitrary claims the way the server would (its kid and typ, unless overridden).

    The typ follows the `type` claim, as on the server's own tokens; `typ=None` leaves it out.
    """
    typ = TOKEN_TYP.get(claims.get("type"), "JWT")
    headers = {"kid": hmac_kid(SECRET), "typ": typ, **header}
    return jwt.encode(claims, key, algorithm=algorithm, headers=headers)


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
