"""A bare Starlette app: one route that checks a bearer token and returns the profile."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from bench.baselines.account import Account

ACCOUNT = Account.from_env()


async def profile(request: Request) -> JSONResponse:
    """Return the caller's profile, or 401 without a valid bearer token."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    body = ACCOUNT.profile(token) if scheme.lower() == "bearer" and token else None
    if body is None:
        return JSONResponse({"detail": "Not authenticated"}, status_code=401)
    return JSONResponse(body)


app = Starlette(routes=[Route("/api/v1/protected/profile", profile)])
