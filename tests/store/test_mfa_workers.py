"""Two uvicorn workers on one PostgreSQL: a code used on one worker is refused on the other."""

from __future__ import annotations

import base64
import json
import time
from pathlib import Path

import pytest
import requests

from authapi.totp import STEP_SECONDS, code_at, step_at
from tests.backends import storage_url
from tests.store.test_workers import fresh, twenty_at_once, wait_until_started
from tooling.devserver import running_server

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("heavy")]
CREDENTIALS = {"email": "ada@example.com", "password": "correct horse battery"}
MFA = "/api/v1/auth/mfa"


def verify_requests(log_path: Path) -> list[tuple[int, int]]:
    """Return (pid, status) of every /mfa/verify request the workers logged."""
    found = []
    for raw in log_path.read_text().splitlines():
        try:
            line = json.loads(raw)
        except ValueError:
            continue
        if line.get("msg") == "request" and line.get("path") == f"{MFA}/verify":
            found.append((line["pid"], line["status"]))
    return found


def away_from_a_step_boundary() -> None:
    # The server reads the real clock: keep the test's codes inside the steps it computed.
    while time.time() % STEP_SECONDS > STEP_SECONDS - 5:
        time.sleep(0.5)


def test_a_code_used_on_one_worker_is_refused_as_used_on_the_other(tmp_path: Path) -> None:
    log_path = tmp_path / "server.log"
    # Forty logins from one address, and twenty refused codes, within the minute; eight
    # logins in flight at once each count against the account and address before their
    # right password takes the count back, so that limit needs room for them.
    env = {
        "MFA_MAX_FAILURES": "100",
        "AUTH_RATE_LIMIT_PER_MINUTE": "1000",
        "LOGIN_MAX_FAILURES": "20",
    }
    with (
        storage_url("postgresql", tmp_path) as store,
        running_server({"STORAGE_URL": store, **env}, workers=2, log_path=log_path) as url,
    ):
        wait_until_started(log_path, workers=2)
        assert fresh(url).post(f"{url}/api/v1/auth/register", json=CREDENTIALS).status_code == 201
        access = fresh(url).post(f"{url}/api/v1/auth/login", json=CREDENTIALS).json()
        headers = {"Authorization": f"Bearer {access['access_token']}"}
        enrolment = fresh(url).post(f"{url}{MFA}/totp", headers=headers).json()
        secret = base64.b32decode(enrolment["secret"] + "=" * (-len(enrolment["secret"]) % 8))
        away_from_a_step_boundary()
        now = step_at(time.time())
        # Confirmed with the step before, so that the current step is still unused.
        confirmed = fresh(url).post(
            f"{url}{MFA}/totp/{enrolment['factor_id']}/confirm",
            headers=headers,
            json={"code": code_at(secret, now - 1)},
        )
        assert confirmed.status_code == 200, confirmed.text
        code = code_at(secret, now)

        def verify() -> requests.Response:
            answer = fresh(url).post(f"{url}/api/v1/auth/login", json=CREDENTIALS)
            assert answer.status_code == 403, answer.text
            body = {"mfa_token": answer.json()["mfa_token"], "method": "totp", "code": code}
            return fresh(url).post(f"{url}{MFA}/verify", json=body)

        assert verify().status_code == 200
        deadline = time.monotonic() + 20
        while True:
            replays = twenty_at_once(verify)
            assert {r.status_code for r in replays} == {403}
            assert all(r.json()["type"].endswith("mfa-code-used") for r in replays)
            time.sleep(0.6)  # the access log reaches the file within half a second
            served = verify_requests(log_path)
            (used_on,) = {pid for pid, status in served if status == 200}
            if any(pid != used_on for pid, _ in served) or time.monotonic() > deadline:
                break
        assert any(pid != used_on for pid, _ in served), "every replay landed on one worker"
