"""Handlers for the `keys` tag: the public keys that verify access tokens."""

from __future__ import annotations

from starlette.responses import Response

from .caller import services
from .replies import json_reply

# Public keys change only on rotation; verifiers may cache them briefly.
JWKS_CACHE = {"Cache-Control": "public, max-age=300"}


async def get_jwks() -> Response:
    """Publish the JWK Set, so other services can verify tokens without a secret."""
    return json_reply(services().codec.keyring.jwks(), headers=JWKS_CACHE)
