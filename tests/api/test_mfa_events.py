"""The second factor is visible: each of its events is a log line and a Prometheus count."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from tests.clock import Clock
from tests.mfa_moves import MFA, MfaApi, bearer, next_step, start_at_a_step


@pytest.fixture
def store_url() -> str:
    return "memory://"


def test_every_mfa_event_is_counted_in_the_metrics(client: TestClient, clock: Clock) -> None:
    start_at_a_step(clock)
    mfa = MfaApi(client, clock)
    account = mfa.account()
    factor, codes = mfa.factor(account.access_token)  # mfa_enrolled
    next_step(clock)
    assert mfa.verify(mfa.mfa_token(), "000000").status_code in (403, 200)  # mfa_failed
    raised = mfa.reauthenticate(account.access_token, method="totp", code=factor.code(clock))
    access = raised.json()["access_token"]  # mfa_verified
    assert mfa.verify(mfa.mfa_token(), factor.code(clock)).status_code == 403  # code reused
    assert mfa.verify(mfa.mfa_token(), codes[0], method="recovery_code").status_code == 200
    assert client.post(f"{MFA}/recovery-codes", headers=bearer(access)).status_code == 200
    assert client.delete(f"{MFA}/factors/{factor.id}", headers=bearer(access)).status_code == 204
    text = client.get("/metrics").text
    for event in (
        "mfa_enrolled",
        "mfa_verified",
        "mfa_failed",
        "mfa_code_reused",
        "recovery_code_used",
        "recovery_codes_regenerated",
        "mfa_factor_removed",
    ):
        assert f'authapi_auth_events_total{{event="{event}"}}' in text, event


@pytest.mark.settings(mfa_max_failures=1)
def test_a_locked_user_is_counted_as_mfa_locked(client: TestClient, clock: Clock) -> None:
    start_at_a_step(clock)
    mfa = MfaApi(client, clock)
    account = mfa.account()
    factor, _ = mfa.factor(account.access_token)
    next_step(clock)
    wrong = str((int(factor.code(clock)) + 500_000) % 1_000_000).zfill(6)
    mfa.verify(mfa.mfa_token(), wrong)
    assert mfa.verify(mfa.mfa_token(), wrong).status_code == 429
    assert 'authapi_auth_events_total{event="mfa_locked"} 1.0' in client.get("/metrics").text
