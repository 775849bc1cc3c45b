"""Handlers for the `profile` tag."""

from __future__ import annotations

from typing import Any

from handlers.context import JSON_NO_STORE, auth_service, claims_of, timestamp

Reply = tuple[dict[str, str | None], int, dict[str, str]]


async def get_profile(token_info: dict[str, Any]) -> Reply:
    """Return the caller's account data."""
    user = await auth_service().profile(claims_of(token_info))
    body = {
        "id": user.id,
        "email": user.email,
        "created_at": timestamp(user.created_at),
        "message": "This is protected data",
    }
    return body, 200, JSON_NO_STORE
