"""Reach the request's service and verified claims from a handler."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from connexion import request

from authapi.service import AuthService, Client
from authapi.tokens import Claims

# Operations declare problem+json for errors too, so successful replies name their type.
JSON = {"Content-Type": "application/json"}
JSON_NO_STORE = {**JSON, "Cache-Control": "no-store"}
MAX_USER_AGENT = 256


def auth_service() -> AuthService:
    """Return the service the app factory attached to this request."""
    service: AuthService = request.state.auth
    return service


def timestamp(moment: datetime | int | None) -> str | None:
    """Render a time (a datetime or epoch seconds) as RFC 3339 in UTC."""
    if moment is None:
        return None
    if isinstance(moment, int):
        moment = datetime.fromtimestamp(moment, UTC)
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def client() -> Client:
    """Describe the caller for throttling and the session list."""
    user_agent = request.headers.get("user-agent", "")[:MAX_USER_AGENT] or None
    return Client(address=getattr(request.state, "client_address", None), user_agent=user_agent)


def claims_of(token_info: dict[str, Any]) -> Claims:
    """Return the claims `handlers.security.bearer_auth` verified."""
    claims: Claims = token_info["claims"]
    return claims
