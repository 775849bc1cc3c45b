"""The moves of second-factor tests: enrol and confirm a factor, log in with a code, step up."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any

from starlette.testclient import TestClient

from authapi.totp import STEP_SECONDS, code_at, step_at
from tests.api_moves import PASSWORD, Api
from tests.clock import Clock

MFA = "/api/v1/auth/mfa"


def start_at_a_step(clock: Clock, seconds_ago: int = 600) -> None:
    """Put the clock a second into a time step, `seconds_ago` before now.

    PyJWT checks `iat` against the real time, so the clock starts in the past and tests
    move it forward from there.
    """
    clock.now = float((int(clock.now) - seconds_ago) // STEP_SECONDS * STEP_SECONDS + 1)


def next_step(clock: Clock) -> None:
    """Move the clock to one second into the next time step."""
    clock.now = float((step_at(clock.now) + 1) * STEP_SECONDS + 1)


@dataclass
class Factor:
    """An enrolled factor: its id and its secret."""

    id: str
    secret: bytes

    def code(self, clock: Clock, steps: int = 0) -> str:
        """Return the code the factor's app shows now, or `steps` steps from now."""
        return code_at(self.secret, step_at(clock.now) + steps)


def bearer(access_token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {access_token}"}


class MfaApi(Api):
    """The API moves of tests/api_moves.py, and the second factor's."""

    def __init__(self, client: TestClient, clock: Clock) -> None:
        super().__init__(client)
        self.clock = clock

    def enrol(self, access_token: str) -> Any:
        return self.client.post(f"{MFA}/totp", headers=bearer(access_token))

    def confirm(self, access_token: str, factor_id: str, code: str) -> Any:
        return self.client.post(
            f"{MFA}/totp/{factor_id}/confirm", headers=bearer(access_token), json={"code": code}
        )

    def factor(self, access_token: str) -> tuple[Factor, list[str]]:
        """Enrol and confirm a factor; return it and the recovery codes it brought."""
        enrolment = self.enrol(access_token)
        assert enrolment.status_code == 201, enrolment.text
        body = enrolment.json()
        secret = base64.b32decode(body["secret"] + "=" * (-len(body["secret"]) % 8))
        factor = Factor(body["factor_id"], secret)
        confirmed = self.confirm(access_token, factor.id, factor.code(self.clock))
        assert confirmed.status_code == 200, confirmed.text
        return factor, confirmed.json().get("recovery_codes", [])

    def verify(self, mfa_token: str, code: str, method: str = "totp", browser: bool = False) -> Any:
        path = "/api/v1/auth/browser/mfa/verify" if browser else f"{MFA}/verify"
        body = {"mfa_token": mfa_token, "method": method, "code": code}
        return self.client.post(path, json=body)

    def mfa_token(self, email: str = "ada@example.com", password: str = PASSWORD) -> str:
        answer = self.login(email, password)
        assert answer.status_code == 403, answer.text
        token: str = answer.json()["mfa_token"]
        return token

    def reauthenticate(self, access_token: str, **body: str) -> Any:
        return self.client.post(
            "/api/v1/auth/reauthenticate", headers=bearer(access_token), json=body
        )

    def stepped_up(self, access_token: str, factor: Factor) -> str:
        """Step the session up with the factor's next code; return its raised access token."""
        next_step(self.clock)
        raised = self.reauthenticate(access_token, method="totp", code=factor.code(self.clock))
        assert raised.status_code == 200, raised.text
        token: str = raised.json()["access_token"]
        return token


async def async_user_with_factor(
    client: Any, clock: Clock, email: str = "ada@example.com"
) -> tuple[Factor, list[str]]:
    """Register, log in, enrol and confirm a factor over an httpx.AsyncClient."""
    credentials = {"email": email, "password": PASSWORD}
    await client.post("/api/v1/auth/register", json=credentials)
    tokens = (await client.post("/api/v1/auth/login", json=credentials)).json()
    headers = bearer(tokens["access_token"])
    body = (await client.post(f"{MFA}/totp", headers=headers)).json()
    secret = base64.b32decode(body["secret"] + "=" * (-len(body["secret"]) % 8))
    factor = Factor(body["factor_id"], secret)
    confirmed = await client.post(
        f"{MFA}/totp/{factor.id}/confirm", headers=headers, json={"code": factor.code(clock)}
    )
    assert confirmed.status_code == 200, confirmed.text
    return factor, confirmed.json()["recovery_codes"]


async def async_mfa_token(client: Any, email: str = "ada@example.com") -> str:
    """Log in with the password and return the mfa_token of the 403."""
    answer = await client.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD})
    assert answer.status_code == 403, answer.text
    token: str = answer.json()["mfa_token"]
    return token
