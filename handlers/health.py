"""Handlers for the `health` tag: liveness and readiness."""

from __future__ import annotations

from starlette.responses import Response

from authapi.errors import StoreUnavailable

from .caller import services
from .replies import json_reply


async def get_health() -> Response:
    """Report that the process is up, and whether its store answers."""
    store = "ok" if await _store_answers() else "unavailable"
    return json_reply({"status": "ok", "store": store})


async def get_readiness() -> Response:
    """Answer 200 only while the store answers, so a balancer can route around an outage."""
    if not await _store_answers():
        raise StoreUnavailable()
    return json_reply({"status": "ok", "store": "ok"})


async def _store_answers() -> bool:
    try:
        await services().store.ping()
    except StoreUnavailable:
        return False
    return True
