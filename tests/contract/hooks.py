"""Schemathesis hooks for the contract run: a logged-in caller, and a check for use after logout.

Loaded by schemathesis through `hooks = "tests.contract.hooks"` in `schemathesis.toml`. One
worker runs the cases one after another (`workers = 1`), so the bookkeeping here only needs
a lock to stay consistent. With CONTRACT_STATS set to a path, the counts of what the hooks
did are written there at exit, so the runner can tell that the check was not vacuous.
"""

from __future__ import annotations

import atexit
import base64
import json
import os
import threading
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import jwt
import schemathesis
from schemathesis import Case, CheckContext, HookContext, Response

LOGOUT = ("POST", "/api/v1/auth/logout")
LOGOUT_ALL = ("POST", "/api/v1/auth/logout-all")
END_SESSION = ("DELETE", "/api/v1/auth/sessions/{session_id}")
CHANGE_PASSWORD = ("POST", "/api/v1/auth/password")
ENDS_SESSIONS = (LOGOUT, LOGOUT_ALL, END_SESSION, CHANGE_PASSWORD)
# Logout-all and a password change answer 200 with the caller's new device token; the others 204.
DONE = (200, 204)
ISSUES_TOKENS = (("POST", "/api/v1/auth/login"), ("POST", "/api/v1/auth/refresh"))
INTROSPECT = "/api/v1/auth/introspect"
# The resource server of INTROSPECTION_CLIENTS in tests/contract/__main__.py's SERVER_ENV.
RESOURCE_SERVER = "contract-resource-server:contract-resource-server-secret-32b"


class Ledger:
    """What the run has seen: the caller's tokens, issued pairs, revoked tokens, and counts."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.caller_tokens: set[str] = set()
        self.revoked: set[str] = set()
        # refresh token -> the access token issued with it, so a linked logout can use its pair.
        self.pairs: dict[str, str] = {}
        self.counts: Counter[str] = Counter()


LEDGER = Ledger()


@atexit.register
def write_stats() -> None:
    """Write the counts where the runner asked for them."""
    path = os.environ.get("CONTRACT_STATS")
    if path:
        Path(path).write_text(json.dumps(dict(LEDGER.counts), sort_keys=True))


def operation_of(case: Case) -> tuple[str, str]:
    """Name a case's operation as (METHOD, path template)."""
    return case.operation.method.upper(), case.operation.path


def bearer_of(headers: Any) -> str | None:
    """Return the bearer token in a request's headers, if there is one."""
    value = headers.get("Authorization") or headers.get("authorization")
    if not isinstance(value, str) or not value.startswith("Bearer "):
        return None
    return value.removeprefix("Bearer ")


def unverified(token: str) -> dict[str, Any]:
    """Read a token's claims without checking it (only to compare `sub`, `sid` and `type`)."""
    try:
        claims: dict[str, Any] = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError:
        return {}
    return claims


def ends_own_session(operation: tuple[str, str], case: Case, token: str) -> bool:
    """Tell whether a successful call ends the session of the token that made it."""
    if operation in (LOGOUT, LOGOUT_ALL):
        return True
    if operation == END_SESSION:
        return (case.path_parameters or {}).get("session_id") == unverified(token).get("sid")
    return False  # a password change ends every session but the caller's


def with_bearer(headers: Any, token: str) -> dict[str, Any]:
    """Return the headers with exactly one Authorization header, carrying `token`."""
    kept = {
        name: value for name, value in (headers or {}).items() if name.lower() != "authorization"
    }
    return {**kept, "Authorization": f"Bearer {token}"}


def same_user(refresh_token: str, access_token: str) -> bool:
    """Tell whether a refresh token is a well-formed one of the access token's user."""
    refresh, access = unverified(refresh_token), unverified(access_token)
    user = access.get("sub")
    return user is not None and refresh.get("type") == "refresh" and refresh.get("sub") == user


@schemathesis.auth(refresh_interval=None).apply_to(path=INTROSPECT)
class ResourceServer:
    """Call introspection with a listed resource server's HTTP Basic credentials."""

    def get(self, case: Case, context: schemathesis.AuthContext) -> str:
        return "Basic " + base64.b64encode(RESOURCE_SERVER.encode()).decode()

    def set(self, case: Case, data: str, context: schemathesis.AuthContext) -> None:
        kept = {k: v for k, v in (case.headers or {}).items() if k.lower() != "authorization"}
        case.headers = {**kept, "Authorization": data}


@schemathesis.auth(refresh_interval=None).skip_for(path=INTROSPECT)
class LoggedInCaller:
    """Authenticate as one registered user; log in again once its session has been ended."""

    def __init__(self) -> None:
        self.email = f"contract-{uuid.uuid4().hex[:12]}@example.com"
        self.password = f"contract run {uuid.uuid4().hex}"
        self.registered = False
        self.token: str | None = None

    def get(self, case: Case, context: schemathesis.AuthContext) -> str:
        with LEDGER.lock:
            if self.token is None or self.token in LEDGER.revoked:
                self.token = self._log_in(case.operation.schema.get_base_url())
                LEDGER.caller_tokens.add(self.token)
                LEDGER.counts["caller_logins"] += 1
            return self.token

    def set(self, case: Case, data: str, context: schemathesis.AuthContext) -> None:
        case.headers = with_bearer(case.headers, data)

    def _log_in(self, base_url: str) -> str:
        credentials = {"email": self.email, "password": self.password}
        with httpx.Client(base_url=base_url, timeout=10) as client:
            if not self.registered:
                client.post("/api/v1/auth/register", json=credentials).raise_for_status()
                self.registered = True
            response = client.post("/api/v1/auth/login", json=credentials)
            response.raise_for_status()
            token: str = response.json()["access_token"]
            return token


@schemathesis.hook("map_case").apply_to(path="/api/v1/auth/register")
def fresh_email_in_workflows(context: HookContext, case: Case) -> Case:
    """In stateful scenarios, register a new address, so that the login link can succeed.

    Generated emails shrink towards a few short addresses that are soon taken (409), which
    would end most register → login → refresh → logout chains at their first step. The
    other phases go on fuzzing the email itself.
    """
    meta = case.meta
    if meta is not None and meta.phase.name == "stateful" and isinstance(case.body, dict):
        case.body = {**case.body, "email": f"chain-{uuid.uuid4().hex}@example.com"}
    return case


@schemathesis.hook
def before_call(context: HookContext, case: Case, kwargs: dict[str, Any]) -> None:
    """Send a linked logout with the access token of the session it names, not the caller's.

    OpenAPI 3.0 links cannot set the Authorization header, so the login → logout link only
    carries the refresh token; this gives the logout its own session's access token.
    """
    if operation_of(case) != LOGOUT or not isinstance(case.body, dict):
        return
    token = bearer_of(case.headers or {})
    refresh_token = case.body.get("refresh_token")
    with LEDGER.lock:
        paired = LEDGER.pairs.get(refresh_token) if isinstance(refresh_token, str) else None
        # Only the caller's own credentials are swapped: probes without or with bad auth stay so.
        if token in LEDGER.caller_tokens and paired is not None:
            case.headers = with_bearer(case.headers, paired)
            LEDGER.counts["linked_logouts"] += 1


@schemathesis.hook
def after_call(context: HookContext, case: Case, response: Response) -> None:
    """Remember issued token pairs, and which tokens a response has revoked."""
    operation = operation_of(case)
    token = bearer_of(response.request.headers)
    with LEDGER.lock:
        if operation in ISSUES_TOKENS and response.status_code == 200:
            pair = response.json()
            LEDGER.pairs[pair["refresh_token"]] = pair["access_token"]
        if token is not None and (
            response.status_code == 401
            or (
                operation in ENDS_SESSIONS
                and response.status_code in DONE
                and ends_own_session(operation, case, token)
            )
        ):
            LEDGER.revoked.add(token)


@schemathesis.check
def use_after_logout(ctx: CheckContext, response: Response, case: Case) -> bool | None:
    """After a logout, logout-all, session end or password change, ended sessions stay ended."""
    operation = operation_of(case)
    token = bearer_of(response.request.headers)
    if response.status_code not in DONE or operation not in ENDS_SESSIONS or token is None:
        return None
    ended = ends_own_session(operation, case, token)
    expected = 401 if ended else 200
    with httpx.Client(base_url=case.operation.schema.get_base_url(), timeout=10) as client:
        profile = client.get(
            "/api/v1/protected/profile", headers={"Authorization": f"Bearer {token}"}
        )
        assert profile.status_code == expected, (
            f"After {operation[0]} {case.formatted_path} answered {response.status_code}, the "
            f"access token that made the call got {profile.status_code} from GET "
            f"/api/v1/protected/profile; expected {expected}"
        )
        LEDGER.counts["ended_sessions_probed" if ended else "kept_sessions_probed"] += 1
        body = case.body if isinstance(case.body, dict) else {}
        refresh_token = body.get("refresh_token") if operation == LOGOUT else None
        if isinstance(refresh_token, str) and same_user(refresh_token, token):
            refreshed = client.post("/api/v1/auth/refresh", json={"refresh_token": refresh_token})
            assert refreshed.status_code == 401, (
                "After a logout naming one of the caller's refresh tokens answered 204, that "
                f"refresh token got {refreshed.status_code} from POST /api/v1/auth/refresh; "
                "expected 401"
            )
            LEDGER.counts["refresh_tokens_probed"] += 1
    return True
