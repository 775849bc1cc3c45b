"""What a handler knows of the caller: the peer, the verified claims and account, and the services.

Each is read from the request being handled; the services are the ones the app built, which
the request-context middleware put in the request's scope.
"""

from __future__ import annotations

from typing import Any

from connexion import request
from connexion.context import scope

from authapi.records import Peer, User
from authapi.sessions import Caller
from authapi.tokens import Claims
from authapi.web.addressing import client_address_in
from authapi.web.services import Services, services_in

MAX_USER_AGENT = 256
# Control characters are not allowed in a header value (RFC 9110 §5.5), and PostgreSQL
# refuses to store a NUL: they are dropped from the user agent a session records.
_CONTROLS = dict.fromkeys([*range(0x20), 0x7F])
_CONTROLS.pop(0x09)


def services() -> Services:
    """Return the services the app factory built, for the request being handled."""
    # Straight from the ASGI scope: building Connexion's request object costs more.
    return services_in(scope)


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


def caller_of(token_info: dict[str, Any]) -> Caller:
    """Return the caller `handlers.security.bearer_auth` verified: claims, account, session."""
    caller: Caller = token_info["caller"]
    return caller
