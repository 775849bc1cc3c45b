"""Handlers for the `health` tag: liveness and readiness."""

from __future__ import annotations

from connexion import request

from authapi.errors import StoreUnavailable
from authapi.service import AuthService
from handlers.context import JSON

Reply = tuple[dict[str, str], int, dict[str, str]]


async def get_health() -> Reply:
    """Report that the process is up, and whether its store answers."""
    store = "ok" if await _store_answers() else "unavailable"
    return {"status": "ok", "store": store}, 200, JSON


async def get_readiness() -> Reply:
    """Answer 200 only while the store answers, so a balancer can route around an outage."""
    if not await _store_answers():
        raise StoreUnavailable()
    return {"status": "ok", "store": "ok"}, 200, JSON


async def _store_answers() -> bool:
    service: AuthService = request.state.auth
    try:
        await service.store.ping()
    except StoreUnavailable:
        return False
    return True
