"""Tokens the server never issued, made here with PyJWT from a genuine one.

An expired token must carry a valid signature to prove anything, so it is signed with the
server's own secret: only a server the features started (tag @minted) can be asked about it.
A token signed with another key or with none needs no secret at all.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

import jwt

from tooling.devserver import TEST_ENV

SERVER_SECRET = TEST_ENV["JWT_SECRET_KEY"]
FOREIGN_SECRET = "a-secret-the-server-has-never-heard-of-32+"
SERVICE = "auth-api"
# Refresh tokens are issued to the service's refresh endpoint, under their own audience.
AUDIENCES = (SERVICE, f"{SERVICE}/refresh")


def expired_copy(genuine: str) -> str:
    """Sign, with the server's secret, a token like `genuine` that expired an hour ago."""
    now = int(time.time())
    # Well past the server's 30 s leeway.
    claims = {**_claims_of(genuine), "iat": now - 2 * 3600, "exp": now - 3600}
    return jwt.encode(claims, SERVER_SECRET, algorithm="HS256", headers=_header_of(genuine))


def foreign_copy(genuine: str) -> str:
    """Sign `genuine`'s claims, under its key id, with a secret the server does not hold."""
    return jwt.encode(
        _claims_of(genuine), FOREIGN_SECRET, algorithm="HS256", headers=_header_of(genuine)
    )


def unsigned_copy(genuine: str) -> str:
    """Copy `genuine`'s claims into a token with the `none` algorithm and no signature."""
    # PyJWT's `none` algorithm takes an empty key, and refuses any other.
    return jwt.encode(_claims_of(genuine), "", algorithm="none", headers=_header_of(genuine))


def _claims_of(genuine: str) -> dict[str, Any]:
    claims: dict[str, Any] = jwt.decode(genuine, options={"verify_signature": False})
    assert claims["iss"] == SERVICE and claims["aud"] in AUDIENCES, claims
    return {**claims, "jti": uuid.uuid4().hex}


def _header_of(genuine: str) -> dict[str, str]:
    # The genuine kid and typ, so that the one thing wrong is what the step names.
    header = jwt.get_unverified_header(genuine)
    return {"kid": header["kid"], "typ": header["typ"]}
