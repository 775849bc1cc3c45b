"""Handlers for the `sessions` tag: the caller's logins, and ending one of them."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from .caller import claims_of, peer, services
from .replies import NO_STORE, json_reply, no_content, timestamp


async def list_sessions(token_info: dict[str, Any]) -> Response:
    """List the caller's live sessions, marking the one this token belongs to."""
    claims = claims_of(token_info)
    sessions = await services().sessions.list_sessions(claims)
    items = [
        {
            "id": session.id,
            "created_at": timestamp(session.created_at),
            "last_refreshed_at": timestamp(session.rotated_at),
            "expires_at": timestamp(session.expires_at),
            "user_agent": session.user_agent,
            "client_ip": session.client_ip,
            "current": session.id == claims.sid,
        }
        for session in sessions
    ]
    return json_reply({"items": items}, headers=NO_STORE)


async def delete_session(session_id: str, token_info: dict[str, Any]) -> Response:
    """End one of the caller's sessions."""
    await services().sessions.end_session(claims_of(token_info), session_id, peer())
    return no_content()
