"""A person's authenticator app, and the second-factor calls the features make.

The server reads the real clock, so the app hands out the codes of the steps around the one
it was added in, each once: the step before, that step, the step after. A scenario runs in
far less than a step, and the app is added well away from a step's end.
"""

from __future__ import annotations

import base64
import time
from dataclasses import dataclass, field
from typing import Any

import requests
from behave.runner import Context

from authapi.totp import STEP_SECONDS, code_at, step_at
from features.support.auth_api import API, TIMEOUT_SECONDS

MFA = f"{API}/auth/mfa"
# Added at least this many seconds before a step ends: three codes fit around it.
MARGIN_SECONDS = 12


@dataclass
class Authenticator:
    """The TOTP secret an app holds, and the codes it has shown so far."""

    factor_id: str
    secret: bytes
    added_in: int
    shown: int = 0
    recovery_codes: list[str] = field(default_factory=list)

    def next_code(self) -> str:
        """Return a code no request has used yet: the step before, that step, the next."""
        step = self.added_in - 1 + self.shown
        self.shown += 1
        return code_at(self.secret, step)

    def last_code(self) -> str:
        """Return the code the app showed last."""
        return code_at(self.secret, self.added_in - 2 + self.shown)


def wait_for_a_fresh_step() -> None:
    """Sleep until the current step has MARGIN_SECONDS left."""
    left = STEP_SECONDS - time.time() % STEP_SECONDS
    if left < MARGIN_SECONDS:
        time.sleep(left + 0.5)


def added_app(secret_b32: str, factor_id: str) -> Authenticator:
    """Take a secret as an app does, from the enrolment answer."""
    secret = base64.b32decode(secret_b32 + "=" * (-len(secret_b32) % 8))
    return Authenticator(factor_id, secret, step_at(time.time()))


def call(
    context: Context, method: str, path: str, body: Any = None, access_token: str | None = None
) -> requests.Response:
    """Send one request to the service under test."""
    headers = {} if access_token is None else {"Authorization": f"Bearer {access_token}"}
    response: requests.Response = context.http.request(
        method,
        context.base_url + path,
        json=body,
        headers=headers,
        timeout=TIMEOUT_SECONDS,
    )
    return response
