"""The login storm's floor: the leanest server that does a login's unavoidable work.

A bare Starlette app on the same uvicorn, with the project's own `PasswordHasher` (the
same Argon2id or bcrypt check, in the same bounded pool, shedding with `Retry-After`
alike) and nothing else: no spec, no validation beyond the JSON, no sessions, no refresh
token, no log line, no metrics. A login checks the password and signs one access token; the
profile GET verifies it. What this app leaves of the hashing ceiling with the storm's GETs
running is the most any Python ASGI server could leave on that core; the login-storm
scenario reports it beside the project's share, so the target can be read against it.

The scheme comes from the same variables the project reads: PASSWORD_HASH, BCRYPT_ROUNDS
and ARGON2_MEMORY_KIB, ARGON2_TIME_COST, ARGON2_PARALLELISM.
"""

from __future__ import annotations

import json
import os
import secrets
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import jwt
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from authapi.errors import Overloaded
from authapi.password_hashes import Argon2Cost
from authapi.passwords import PasswordHasher

SECRET = secrets.token_urlsafe(32)
TOKEN_SECONDS = 900
HASHER = PasswordHasher(
    int(os.environ.get("BCRYPT_ROUNDS", "12")),
    algorithm=os.environ.get("PASSWORD_HASH", "argon2id"),
    argon2=Argon2Cost(
        int(os.environ.get("ARGON2_MEMORY_KIB", "19456")),
        int(os.environ.get("ARGON2_TIME_COST", "2")),
        int(os.environ.get("ARGON2_PARALLELISM", "1")),
    ),
)
# email -> (id, stored hash, created_at)
USERS: dict[str, tuple[str, str, str]] = {}


async def register(request: Request) -> Response:
    """Store a new user's hash; 409 for an email already taken."""
    credentials = await _credentials(request)
    if credentials is None:
        return JSONResponse({"detail": "email and password required"}, status_code=400)
    email, password = credentials
    try:
        stored = await HASHER.hash(password)
    except Overloaded as shed:
        return _shed(shed)
    if email in USERS:
        return JSONResponse({"detail": "taken"}, status_code=409)
    USERS[email] = (str(uuid.uuid4()), stored, time.strftime("%Y-%m-%dT%H:%M:%SZ"))
    return JSONResponse({"email": email}, status_code=201)


async def login(request: Request) -> Response:
    """Check the password in the pool; answer one signed access token."""
    credentials = await _credentials(request)
    if credentials is None:
        return JSONResponse({"detail": "email and password required"}, status_code=400)
    email, password = credentials
    user = USERS.get(email)
    try:
        valid = await HASHER.verify(password, user[1] if user else None)
    except Overloaded as shed:
        return _shed(shed)
    if not valid or user is None:
        return JSONResponse({"detail": "invalid credentials"}, status_code=401)
    now = int(time.time())
    claims = {"sub": user[0], "email": email, "iat": now, "exp": now + TOKEN_SECONDS}
    token = jwt.encode(claims, SECRET, algorithm="HS256")
    return JSONResponse({"access_token": token, "token_type": "Bearer"})


async def profile(request: Request) -> Response:
    """Return the caller's profile, or 401 without a valid bearer token."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    try:
        claims = jwt.decode(token, SECRET, algorithms=["HS256"], options={"require": ["exp"]})
    except jwt.InvalidTokenError:
        return JSONResponse({"detail": "Not authenticated"}, status_code=401)
    user = USERS.get(claims["email"]) if scheme.lower() == "bearer" else None
    if user is None:
        return JSONResponse({"detail": "Not authenticated"}, status_code=401)
    return JSONResponse({"id": user[0], "email": claims["email"], "created_at": user[2]})


async def _credentials(request: Request) -> tuple[str, str] | None:
    try:
        body = json.loads(await request.body())
    except ValueError:
        return None
    if not isinstance(body, dict):
        return None
    email, password = body.get("email"), body.get("password")
    if not isinstance(email, str) or not isinstance(password, str):
        return None
    return email.lower(), password


def _shed(shed: Overloaded) -> Response:
    return JSONResponse(
        {"detail": "busy"}, status_code=503, headers={"Retry-After": str(shed.retry_after_seconds)}
    )


@asynccontextmanager
async def _lifespan(_app: Starlette) -> AsyncIterator[None]:
    # As the project does: the dummy hash made and one hash measured before any request.
    await HASHER.warm_up()
    yield
    HASHER.close()


app = Starlette(
    routes=[
        Route("/api/v1/auth/register", register, methods=["POST"]),
        Route("/api/v1/auth/login", login, methods=["POST"]),
        Route("/api/v1/protected/profile", profile),
    ],
    lifespan=_lifespan,
)
