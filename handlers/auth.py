"""Handlers for the `auth` tag: register, login, refresh, logout."""

from __future__ import annotations

from typing import Any

from authapi.tokens import TokenPair
from handlers.context import JSON, JSON_NO_STORE, auth_service, claims_of, client


async def register(body: dict[str, Any]) -> tuple[dict[str, str], int, dict[str, str]]:
    """Create an account."""
    user = await auth_service().register(body["email"], body["password"], client())
    return {"id": user.id, "email": user.email, "message": "User registered"}, 201, JSON


async def login(body: dict[str, Any]) -> tuple[dict[str, Any], int, dict[str, str]]:
    """Start a session and hand out its tokens."""
    pair = await auth_service().login(body["email"], body["password"], client())
    return _tokens(pair), 200, JSON_NO_STORE


async def refresh(body: dict[str, Any]) -> tuple[dict[str, Any], int, dict[str, str]]:
    """Rotate a refresh token."""
    pair = await auth_service().refresh(body["refresh_token"])
    return _tokens(pair), 200, JSON_NO_STORE


async def logout(
    token_info: dict[str, Any], body: dict[str, Any] | None = None
) -> tuple[None, int]:
    """End the caller's session."""
    refresh_token = (body or {}).get("refresh_token")
    await auth_service().logout(claims_of(token_info), refresh_token)
    return None, 204


async def change_password(token_info: dict[str, Any], body: dict[str, Any]) -> tuple[None, int]:
    """Replace the caller's password and end their other sessions."""
    await auth_service().change_password(
        claims_of(token_info), body["current_password"], body["new_password"]
    )
    return None, 204


async def logout_all(token_info: dict[str, Any]) -> tuple[None, int]:
    """End every session of the caller, this one included."""
    await auth_service().logout_all(claims_of(token_info))
    return None, 204


def _tokens(pair: TokenPair) -> dict[str, Any]:
    return {
        "access_token": pair.access_token,
        "refresh_token": pair.refresh_token,
        "token_type": "bearer",
        "expires_in": pair.expires_in,
        "refresh_expires_in": pair.refresh_expires_in,
    }
