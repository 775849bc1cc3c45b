"""The second factor in the owner's activity log, on every store.

A change (a factor confirmed or removed, codes replaced, a code spent) is listed with the
change; a refused code (wrong, reused, locked out) is listed after the answer, merged per
address and minute. A login with a second factor is one `login_succeeded`, at its second step.
"""

from __future__ import annotations

import base64
import dataclasses
from typing import Any

import jwt
import pytest
from starlette.testclient import TestClient

from tests.api.test_activity import events_of, kinds
from tests.api_moves import Account
from tests.clock import Clock
from tests.mfa_moves import MFA, Factor, MfaApi, bearer, next_step, start_at_a_step


@pytest.fixture
def mfa(client: TestClient, clock: Clock) -> MfaApi:
    start_at_a_step(clock)
    return MfaApi(client, clock)


def wrong(code: str) -> str:
    return str((int(code) + 500_000) % 1_000_000).zfill(6)


def session_of(access_token: str) -> str:
    sid: str = jwt.decode(access_token, options={"verify_signature": False})["sid"]
    return sid


def stepped_up(mfa: MfaApi, account: Account, factor: Factor) -> Account:
    """Reauthenticate with the factor's next code; return the caller with its aal2 tokens."""
    next_step(mfa.clock)
    raised = mfa.reauthenticate(account.access_token, method="totp", code=factor.code(mfa.clock))
    assert raised.status_code == 200, raised.text
    tokens = raised.json()
    return dataclasses.replace(
        account, access_token=tokens["access_token"], refresh_token=tokens["refresh_token"]
    )


def only(events: list[dict[str, Any]]) -> dict[str, Any]:
    [single] = events
    return single


def test_a_confirmed_factor_is_listed_with_its_id_and_the_callers_session(mfa: MfaApi) -> None:
    account = mfa.account()
    factor, codes = mfa.factor(account.access_token)
    assert len(codes) == 10
    enrolled = only(events_of(mfa, account, type="mfa_enrolled"))
    assert enrolled["details"] == {"factor_id": factor.id}
    assert enrolled["session_id"] == session_of(account.access_token)
    # The first codes come with the first factor: nothing was replaced.
    assert events_of(mfa, account, type="recovery_codes_regenerated") == []


def test_a_wrong_code_at_confirmation_enrols_nothing_and_is_listed_as_failed(
    mfa: MfaApi,
) -> None:
    account = mfa.account()
    enrolment = mfa.enrol(account.access_token).json()
    assert mfa.confirm(account.access_token, enrolment["factor_id"], "000000").status_code == 403
    events = events_of(mfa, account)
    assert "mfa_enrolled" not in kinds(events)
    assert only(events_of(mfa, account, type="mfa_failed"))["details"] == {"count": 1}


def test_a_login_with_a_second_factor_is_one_login_succeeded_at_its_second_step(
    mfa: MfaApi,
) -> None:
    account = mfa.account()
    factor, _ = mfa.factor(account.access_token)
    before = len(events_of(mfa, account, type="login_succeeded"))
    next_step(mfa.clock)
    mfa_token = mfa.mfa_token()
    # The password step answered 403 and started no session: no login is listed yet.
    assert len(events_of(mfa, account, type="login_succeeded")) == before
    answer = mfa.verify(mfa_token, factor.code(mfa.clock))
    assert answer.status_code == 200, answer.text
    logins = events_of(mfa, account, type="login_succeeded")
    assert len(logins) == before + 1
    assert logins[0]["session_id"] == session_of(answer.json()["access_token"])
    verified = only(events_of(mfa, account, type="mfa_verified"))
    assert verified["details"] == {"factor_id": factor.id}
    # No session existed yet when the code was spent.
    assert verified["session_id"] is None
    assert kinds(events_of(mfa, account))[:2] == ["login_succeeded", "mfa_verified"]


def test_wrong_codes_from_one_address_are_one_mfa_failed_event_with_a_count(
    mfa: MfaApi,
) -> None:
    account = mfa.account()
    factor, _ = mfa.factor(account.access_token)
    next_step(mfa.clock)
    mfa_token = mfa.mfa_token()
    for _ in range(3):
        assert mfa.verify(mfa_token, wrong(factor.code(mfa.clock))).status_code == 403
    failed = only(events_of(mfa, account, type="mfa_failed"))
    assert failed["details"] == {"count": 3}
    assert failed["ip"] == "127.0.0.1"
    assert failed["session_id"] is None
    assert events_of(mfa, account, type="mfa_verified") == []


def test_a_reused_code_is_listed_as_mfa_code_reused(mfa: MfaApi) -> None:
    account = mfa.account()
    factor, _ = mfa.factor(account.access_token)
    next_step(mfa.clock)
    code = factor.code(mfa.clock)
    assert mfa.verify(mfa.mfa_token(), code).status_code == 200
    reused = mfa.verify(mfa.mfa_token(), code)
    assert reused.status_code == 403, reused.text
    assert only(events_of(mfa, account, type="mfa_code_reused"))["details"] == {"count": 1}
    assert len(events_of(mfa, account, type="mfa_verified")) == 1


@pytest.mark.settings(mfa_max_failures=1)
def test_codes_refused_by_the_limit_are_listed_as_mfa_locked(mfa: MfaApi) -> None:
    account = mfa.account()
    factor, _ = mfa.factor(account.access_token)
    next_step(mfa.clock)
    mfa_token = mfa.mfa_token()
    assert mfa.verify(mfa_token, wrong(factor.code(mfa.clock))).status_code == 403
    assert mfa.verify(mfa_token, wrong(factor.code(mfa.clock))).status_code == 429
    assert mfa.verify(mfa_token, factor.code(mfa.clock)).status_code == 429
    assert only(events_of(mfa, account, type="mfa_locked"))["details"] == {"count": 2}
    assert only(events_of(mfa, account, type="mfa_failed"))["details"] == {"count": 1}


def test_a_recovery_code_login_is_listed_as_recovery_code_used(mfa: MfaApi) -> None:
    account = mfa.account()
    _, codes = mfa.factor(account.access_token)
    answer = mfa.verify(mfa.mfa_token(), codes[0], method="recovery_code")
    assert answer.status_code == 200, answer.text
    used = only(events_of(mfa, account, type="recovery_code_used"))
    assert used["details"] == {}
    assert len(events_of(mfa, account, type="login_succeeded")) == 2
    # A spent code again is a wrong code, and spends nothing.
    assert mfa.verify(mfa.mfa_token(), codes[0], method="recovery_code").status_code == 403
    assert len(events_of(mfa, account, type="recovery_code_used")) == 1
    assert only(events_of(mfa, account, type="mfa_failed"))["details"] == {"count": 1}


def test_reauthentication_with_a_code_is_listed_with_the_session_it_raised(
    mfa: MfaApi,
) -> None:
    account = mfa.account()
    factor, _ = mfa.factor(account.access_token)
    raised = stepped_up(mfa, account, factor)
    verified = only(events_of(mfa, raised, type="mfa_verified"))
    assert verified["session_id"] == session_of(account.access_token)
    assert verified["details"] == {"factor_id": factor.id}


def test_replaced_codes_and_a_removed_factor_are_listed(mfa: MfaApi) -> None:
    account = mfa.account()
    factor, _ = mfa.factor(account.access_token)
    raised = stepped_up(mfa, account, factor)
    headers = bearer(raised.access_token)
    assert mfa.client.post(f"{MFA}/recovery-codes", headers=headers).status_code == 200
    assert mfa.client.delete(f"{MFA}/factors/{factor.id}", headers=headers).status_code == 204
    assert kinds(events_of(mfa, raised))[:2] == ["mfa_factor_removed", "recovery_codes_regenerated"]
    removed = only(events_of(mfa, raised, type="mfa_factor_removed"))
    assert removed["details"] == {"factor_id": factor.id}
    assert removed["session_id"] == session_of(account.access_token)
    regenerated = only(events_of(mfa, raised, type="recovery_codes_regenerated"))
    assert regenerated["details"] == {}


def test_a_refused_removal_is_not_listed(mfa: MfaApi) -> None:
    account = mfa.account()
    factor, _ = mfa.factor(account.access_token)
    raised = stepped_up(mfa, account, factor)
    missing = "00000000-0000-4000-8000-000000000000"
    answer = mfa.client.delete(f"{MFA}/factors/{missing}", headers=bearer(raised.access_token))
    assert answer.status_code == 404
    assert events_of(mfa, raised, type="mfa_factor_removed") == []


def test_no_secret_code_or_mfa_token_appears_in_the_activity(mfa: MfaApi) -> None:
    account = mfa.account()
    factor, codes = mfa.factor(account.access_token)
    secret = base64.b32encode(factor.secret).decode().rstrip("=")
    shown: list[str] = [secret, *codes]
    next_step(mfa.clock)
    failed_token = mfa.mfa_token()
    wrong_code = wrong(factor.code(mfa.clock))
    mfa.verify(failed_token, wrong_code)
    mfa_token = mfa.mfa_token()
    code = factor.code(mfa.clock)
    assert mfa.verify(mfa_token, code).status_code == 200
    mfa.verify(mfa.mfa_token(), code)  # reused
    recovery_token = mfa.mfa_token()
    assert mfa.verify(recovery_token, codes[1], method="recovery_code").status_code == 200
    shown += [failed_token, wrong_code, mfa_token, code, recovery_token]
    answer = mfa.client.get("/api/v1/auth/activity", headers=account.headers, params={"limit": 100})
    assert answer.status_code == 200
    text = answer.text
    for value in shown:
        assert value not in text
        assert value.replace("-", "") not in text
    assert {"mfa_verified", "mfa_failed", "mfa_code_reused", "recovery_code_used"} <= set(
        kinds(answer.json()["events"])
    )
