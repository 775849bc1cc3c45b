"""Handlers for the `keys` tag: the public keys that verify access tokens."""

from __future__ import annotations

from typing import Any

from handlers.context import auth_service

JWKS_HEADERS = {"Content-Type": "application/json", "Cache-Control": "public, max-age=300"}


async def get_jwks() -> tuple[dict[str, Any], int, dict[str, str]]:
    """Publish the JWK Set, so other services can verify tokens without a secret."""
    return auth_service().codec.keyring.jwks(), 200, JWKS_HEADERS
