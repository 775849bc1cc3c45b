"""Handlers for the `profile` tag."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from .caller import account_of
from .replies import NO_STORE, json_reply, timestamp


async def get_profile(token_info: dict[str, Any]) -> Response:
    """Return the caller's account data."""
    user = account_of(token_info)
    body = {
        "id": user.id,
        "email": user.email,
        "created_at": timestamp(user.created_at),
        "message": "This is protected data",
    }
    return json_reply(body, headers=NO_STORE)
