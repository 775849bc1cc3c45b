"""Reach the request's service and verified claims from a handler."""

from __future__ import annotations

from typing import Any

from connexion import request

from authapi.service import AuthService
from authapi.tokens import Claims

# Operations declare problem+json for errors too, so successful replies name their type.
JSON = {"Content-Type": "application/json"}
JSON_NO_STORE = {**JSON, "Cache-Control": "no-store"}


def auth_service() -> AuthService:
    """Return the service the app factory attached to this request."""
    service: AuthService = request.state.auth
    return service


def claims_of(token_info: dict[str, Any]) -> Claims:
    """Return the claims `handlers.security.bearer_auth` verified."""
    claims: Claims = token_info["claims"]
    return claims
