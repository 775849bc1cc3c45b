"""Reach the app's services, the caller and the verified claims from a handler."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from connexion import request
from connexion.context import scope
from starlette.responses import Response

from authapi.records import Peer, User
from authapi.tokens import Claims
from authapi.web.guard import client_address_in
from authapi.web.services import Services, services_in

NO_STORE = {"Cache-Control": "no-store"}
MAX_USER_AGENT = 256
# Control characters are not allowed in a header value (RFC 9110 §5.5), and PostgreSQL
# refuses to store a NUL: they are dropped from the user agent a session records.
_CONTROLS = dict.fromkeys([*range(0x20), 0x7F])
_CONTROLS.pop(0x09)


def json_reply(body: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> Response:
    """Answer with a JSON body, serialized here rather than by Connexion's response pipeline.

    Connexion passes a ready response through untouched (and still validates it against the
    spec when response validation is on), which saves it inferring types on every request.
    """
    return Response(
        json.dumps(body), status_code=status, media_type="application/json", headers=headers
    )


def no_content() -> Response:
    """Answer 204 with no body."""
    return Response(status_code=204)


def services() -> Services:
    """Return the services the app factory built, for the request being handled."""
    # Straight from the ASGI scope: building Connexion's request object costs more.
    return services_in(scope)


def timestamp(moment: datetime | int | None) -> str | None:
    """Render a time (a datetime or epoch seconds) as RFC 3339 in UTC."""
    if moment is None:
        return None
    if isinstance(moment, int):
        moment = datetime.fromtimestamp(moment, UTC)
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def peer() -> Peer:
    """Describe the caller for throttling and the session list."""
    raw = request.headers.get("user-agent", "")
    user_agent = raw.translate(_CONTROLS)[:MAX_USER_AGENT] or None
    return Peer(address=client_address_in(scope), user_agent=user_agent)


def claims_of(token_info: dict[str, Any]) -> Claims:
    """Return the claims `handlers.security.bearer_auth` verified."""
    claims: Claims = token_info["claims"]
    return claims


def account_of(token_info: dict[str, Any]) -> User:
    """Return the caller's account, read by `handlers.security.bearer_auth` with the session."""
    user: User = token_info["user"]
    return user
