"""A FastAPI app: the same route behind an `HTTPBearer` dependency, written the usual way."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, FastAPI, HTTPException
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from bench.baselines.account import Account

ACCOUNT = Account.from_env()
bearer = HTTPBearer()
app = FastAPI()


@app.get("/api/v1/protected/profile")
async def profile(
    credentials: Annotated[HTTPAuthorizationCredentials, Depends(bearer)],
) -> dict[str, str]:
    """Return the caller's profile, or 401 without a valid bearer token."""
    body = ACCOUNT.profile(credentials.credentials)
    if body is None:
        raise HTTPException(status_code=401, detail="Not authenticated")
    return body
