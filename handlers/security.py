"""The bearerAuth security function named in the spec."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request

from authapi.service import AuthService


async def bearer_auth(token: str, request: Request) -> dict[str, Any]:
    """Verify an access token and its session; refusals raise `InvalidToken` (a 401)."""
    service: AuthService = request.scope["state"]["auth"]
    caller = await service.authenticate(token)
    return {"sub": caller.claims.sub, "claims": caller.claims, "user": caller.user}
