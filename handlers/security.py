"""The bearerAuth security function named in the spec."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request

from authapi.records import Peer
from authapi.web.addressing import client_address_in
from authapi.web.services import services_in


async def bearer_auth(token: str, request: Request) -> dict[str, Any]:
    """Verify an access token and its session; refusals raise `InvalidToken` (a 401)."""
    caller = await services_in(request.scope).sessions.authenticate(token)
    return {
        "sub": caller.claims.sub,
        "claims": caller.claims,
        "user": caller.user,
        "caller": caller,
    }


async def introspection_client(username: str, password: str, request: Request) -> dict[str, Any]:
    """Accept a resource server's HTTP Basic credentials; refusals raise `InvalidClient` (a 401)."""
    # Connexion decodes the credentials as Latin-1; RFC 7617 says UTF-8.
    client_id, secret = (
        part.encode("latin-1").decode("utf-8", "replace") for part in (username, password)
    )
    address = client_address_in(request.scope)
    accepted = await services_in(request.scope).clients.authenticate(
        client_id, secret, Peer(address=address)
    )
    return {"sub": accepted}
