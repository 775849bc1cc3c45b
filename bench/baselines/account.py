"""The one account the baselines serve, and the token check they share, read from the env.

The harness logs in to the project and hands its secret, issuer, audience and the user's
profile to each baseline, so every app verifies the very same token the same way.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Any

import jwt

PROFILE_MESSAGE = "This is protected data"
# The claims the project requires too; `exp` is verified, with no leeway.
REQUIRED_CLAIMS = ["exp", "iat", "sub", "iss", "aud"]
ACCESS_TOKEN_TYP = "at+jwt"


@dataclass(frozen=True)
class Account:
    """A signing secret and the users it may name, by id."""

    secret: str
    issuer: str
    audience: str
    users: dict[str, dict[str, str]]

    @classmethod
    def from_env(cls) -> Account:
        """Read BENCH_JWT_SECRET, BENCH_JWT_ISSUER, BENCH_JWT_AUDIENCE and BENCH_USER."""
        user = json.loads(os.environ["BENCH_USER"])
        return cls(
            secret=os.environ["BENCH_JWT_SECRET"],
            issuer=os.environ.get("BENCH_JWT_ISSUER", "auth-api"),
            audience=os.environ.get("BENCH_JWT_AUDIENCE", "auth-api"),
            users={user["id"]: {key: user[key] for key in ("id", "email", "created_at")}},
        )

    def profile(self, token: str) -> dict[str, str] | None:
        """Return the profile of the token's user, or None when the token is refused."""
        try:
            decoded: dict[str, Any] = jwt.decode_complete(
                token,
                self.secret,
                algorithms=["HS256"],
                audience=self.audience,
                issuer=self.issuer,
                options={"require": REQUIRED_CLAIMS},
            )
        except jwt.PyJWTError:
            return None
        # The project checks the token's type too (RFC 9068): only access tokens are taken.
        if decoded["header"].get("typ") != ACCESS_TOKEN_TYP:
            return None
        claims: dict[str, Any] = decoded["payload"]
        user = self.users.get(claims["sub"])
        if user is None:
            return None
        return {**user, "message": PROFILE_MESSAGE}
