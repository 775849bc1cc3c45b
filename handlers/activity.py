"""Handlers for the `activity` tag: what happened to the caller's account."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from authapi.activity import details_of
from authapi.records import Activity, ActivityType

from .caller import claims_of, services
from .replies import NO_STORE, json_reply, timestamp


async def list_activity(
    token_info: dict[str, Any],
    limit: int = 20,
    cursor: str | None = None,
    type: ActivityType | None = None,
) -> Response:
    """List the caller's account activity, newest first."""
    listing = await services().activity.list(claims_of(token_info).sub, limit, type, cursor)
    events = [as_json(event) for event in listing.items]
    body = {"events": events, "next_cursor": listing.next_cursor}
    return json_reply(body, headers=NO_STORE)


def as_json(event: Activity) -> dict[str, Any]:
    """Render an event as the spec's ActivityEvent schema."""
    return {
        "id": event.id,
        "type": event.type,
        "occurred_at": timestamp(event.occurred_at),
        "ip": event.ip,
        "user_agent": event.user_agent,
        "session_id": event.session_id,
        "details": details_of(event),
    }
