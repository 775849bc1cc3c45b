"""Handlers for the `tokens` tag: RFC 7662 introspection and RFC 7009 revocation."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from .caller import peer, services
from .replies import NO_STORE, json_reply


async def introspect(body: dict[str, Any]) -> Response:
    """Tell a resource server whether an access token is valid right now, and what it says."""
    # The hint is ignored: only access tokens are ever described.
    found = await services().clients.introspect(body["token"])
    if found is None:
        return json_reply({"active": False}, headers=NO_STORE)
    claims = found.claims
    answer = {
        "active": True,
        "token_type": "access_token",
        "sub": claims.sub,
        "sid": claims.sid,
        "exp": claims.exp,
        "iat": claims.iat,
        "iss": found.issuer,
        "aud": found.audience,
        "jti": claims.jti,
        "acr": claims.acr,
        "amr": list(claims.amr),
        "auth_time": claims.auth_time,
    }
    return json_reply(answer, headers=NO_STORE)


async def revoke(body: dict[str, Any]) -> Response:
    """End the session of a token of ours; answer 200 whatever the token was."""
    await services().clients.revoke(body["token"], body.get("token_type_hint"), peer())
    return Response(status_code=200, headers=NO_STORE)
