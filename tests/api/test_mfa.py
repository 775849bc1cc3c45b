"""The `mfa` tag end to end: enrol, confirm, list, log in with a code, remove."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from tests.clock import Clock
from tests.forgery import claims_of
from tests.mfa_moves import MFA, MfaApi, bearer, next_step, start_at_a_step


@pytest.fixture
def mfa(client: TestClient, clock: Clock) -> MfaApi:
    start_at_a_step(clock)
    return MfaApi(client, clock)


def test_enrolment_shows_the_secret_once_and_the_factor_is_pending_until_confirmed(
    mfa: MfaApi,
) -> None:
    account = mfa.account()
    enrolment = mfa.enrol(account.access_token)
    assert enrolment.status_code == 201
    assert enrolment.headers["cache-control"] == "no-store"
    body = enrolment.json()
    assert body["otpauth_uri"].startswith("otpauth://totp/auth-api:ada@example.com?")
    assert f"secret={body['secret']}" in body["otpauth_uri"]
    listed = mfa.client.get(f"{MFA}/factors", headers=account.headers)
    assert listed.json() == {"factors": []}
    assert mfa.login().status_code == 200  # a pending factor asks for nothing yet


def test_confirming_the_first_factor_brings_ten_recovery_codes_and_a_later_one_none(
    mfa: MfaApi,
) -> None:
    account = mfa.account()
    first, codes = mfa.factor(account.access_token)
    assert len(codes) == 10 and len(set(codes)) == 10
    assert all(len(code.replace("-", "")) == 16 for code in codes)
    # A second factor needs a step-up first: reauthenticate with the first one.
    next_step(mfa.clock)
    raised = mfa.reauthenticate(account.access_token, method="totp", code=first.code(mfa.clock))
    assert raised.status_code == 200, raised.text
    second, more = mfa.factor(raised.json()["access_token"])
    assert more == []
    listed = mfa.client.get(f"{MFA}/factors", headers=bearer(raised.json()["access_token"]))
    assert [f["id"] for f in listed.json()["factors"]] == [first.id, second.id]
    assert {f["type"] for f in listed.json()["factors"]} == {"totp"}


def test_confirming_ends_every_other_session_and_keeps_the_callers(mfa: MfaApi) -> None:
    account = mfa.account()
    other = mfa.login().json()
    mfa.factor(account.access_token)
    assert mfa.profile(account.access_token).status_code == 200
    assert mfa.profile(other["access_token"]).status_code == 401


def test_a_user_with_a_factor_gets_mfa_required_and_no_tokens_from_the_password(
    mfa: MfaApi,
) -> None:
    account = mfa.account()
    mfa.factor(account.access_token)
    answer = mfa.login()
    assert answer.status_code == 403
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.headers["cache-control"] == "no-store"
    body = answer.json()
    assert body["type"].endswith("mfa-required")
    assert body["error"] == "mfa_required"
    assert body["methods"] == ["totp", "recovery_code"]
    assert body["expires_in"] == 300
    assert "access_token" not in body and "refresh_token" not in body


def test_a_totp_code_finishes_the_login_at_aal2(mfa: MfaApi) -> None:
    account = mfa.account()
    factor, _ = mfa.factor(account.access_token)
    next_step(mfa.clock)
    answer = mfa.verify(mfa.mfa_token(), factor.code(mfa.clock))
    assert answer.status_code == 200, answer.text
    tokens = answer.json()
    access = claims_of(tokens["access_token"])
    assert (access["acr"], access["amr"]) == ("aal2", ["pwd", "otp", "mfa"])
    assert mfa.profile(tokens["access_token"]).status_code == 200
    refreshed = mfa.refresh(tokens["refresh_token"]).json()
    assert claims_of(refreshed["access_token"])["acr"] == "aal2"


def test_a_recovery_code_finishes_the_login_once(mfa: MfaApi) -> None:
    account = mfa.account()
    _, codes = mfa.factor(account.access_token)
    answer = mfa.verify(mfa.mfa_token(), codes[0].lower(), method="recovery_code")
    assert answer.status_code == 200, answer.text
    assert claims_of(answer.json()["access_token"])["amr"] == ["pwd", "rcode", "mfa"]
    again = mfa.verify(mfa.mfa_token(), codes[0], method="recovery_code")
    assert again.status_code == 403
    assert again.json()["type"].endswith("mfa-invalid")


def test_a_wrong_code_is_refused_and_the_token_lives_on_for_the_right_one(mfa: MfaApi) -> None:
    account = mfa.account()
    factor, _ = mfa.factor(account.access_token)
    next_step(mfa.clock)
    token = mfa.mfa_token()
    wrong = str((int(factor.code(mfa.clock)) + 1) % 1_000_000).zfill(6)
    refused = mfa.verify(token, wrong)
    assert refused.status_code == 403
    assert refused.json()["type"].endswith("mfa-invalid")
    assert mfa.verify(token, factor.code(mfa.clock)).status_code == 200
    # Spent: the token does not start a second session.
    next_step(mfa.clock)
    assert mfa.verify(token, factor.code(mfa.clock)).status_code == 403


def test_removing_the_last_factor_lets_the_password_alone_log_in_again(mfa: MfaApi) -> None:
    account = mfa.account()
    factor, codes = mfa.factor(account.access_token)
    access = mfa.stepped_up(account.access_token, factor)
    removed = mfa.client.delete(f"{MFA}/factors/{factor.id}", headers=bearer(access))
    assert removed.status_code == 204
    assert mfa.login().status_code == 200
    listed = mfa.client.get(f"{MFA}/factors", headers=bearer(access))
    assert listed.json() == {"factors": []}
    missing = mfa.client.delete(f"{MFA}/factors/{factor.id}", headers=bearer(access))
    assert missing.status_code in (401, 404)
    assert codes


def test_a_sixth_factor_is_refused_with_409_and_an_expired_pending_one_makes_room(
    mfa: MfaApi,
) -> None:
    account = mfa.account()
    for _ in range(5):
        assert mfa.enrol(account.access_token).status_code == 201
    refused = mfa.enrol(account.access_token)
    assert refused.status_code == 409
    assert "at most 5" in refused.json()["detail"]
    mfa.clock.advance(600)
    assert mfa.enrol(account.access_token).status_code == 201


def test_a_user_with_a_factor_at_the_cap_is_asked_to_step_up_before_she_hears_of_the_cap(
    mfa: MfaApi,
) -> None:
    account = mfa.account()
    first, _ = mfa.factor(account.access_token)
    stepped_up = mfa.stepped_up(account.access_token, first)
    for _ in range(4):
        assert mfa.enrol(stepped_up).status_code == 201
    # Both hold for the aal1 token: a step-up is due, and she has 5 factors. The spec says
    # she must step up first.
    refused = mfa.enrol(account.access_token)
    assert refused.status_code == 401
    assert refused.json()["type"].endswith("step-up-required")
    assert mfa.enrol(stepped_up).status_code == 409


def test_a_pending_factor_cannot_be_confirmed_after_ten_minutes(mfa: MfaApi) -> None:
    account = mfa.account()
    enrolment = mfa.enrol(account.access_token).json()
    mfa.clock.advance(600)
    late = mfa.confirm(account.access_token, enrolment["factor_id"], "123456")
    assert late.status_code == 404
    assert mfa.login().status_code == 200


def test_another_users_factor_cannot_be_confirmed(mfa: MfaApi) -> None:
    ada = mfa.account()
    enrolment = mfa.enrol(ada.access_token).json()
    eve = mfa.account("eve@example.com")
    answer = mfa.confirm(eve.access_token, enrolment["factor_id"], "123456")
    assert answer.status_code == 404
