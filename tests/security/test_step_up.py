"""Step-up (RFC 9470): the operations that need a recent second factor, and how to get one."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jwt
import pytest
from starlette.testclient import TestClient

from tests.api_moves import PASSWORD
from tests.backends import BACKENDS, storage_url
from tests.clock import Clock
from tests.mfa_moves import MFA, MfaApi, bearer, next_step, start_at_a_step

CHALLENGE = 'Bearer error="insufficient_user_authentication", acr_values="aal2", max_age={}'


@pytest.fixture(params=BACKENDS)
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    with storage_url(request.param, tmp_path) as url:
        yield url


@pytest.fixture
def mfa(client: TestClient, clock: Clock) -> MfaApi:
    start_at_a_step(clock)
    return MfaApi(client, clock)


def assert_step_up_refused(response: Any, max_age: int = 300, missing: str = "acr") -> None:
    assert response.status_code == 401, response.text
    assert response.headers["www-authenticate"] == CHALLENGE.format(max_age)
    body = response.json()
    assert body["type"].endswith("step-up-required")
    assert body["detail"].startswith(f"{missing}:")


def step_up_operations(mfa: MfaApi, access_token: str, factor_id: str) -> list[Any]:
    headers = bearer(access_token)
    return [
        mfa.client.delete(f"{MFA}/factors/{factor_id}", headers=headers),
        mfa.client.post(f"{MFA}/recovery-codes", headers=headers),
        mfa.client.post(f"{MFA}/totp", headers=headers),
        mfa.client.post(
            "/api/v1/auth/password",
            headers=headers,
            json={"current_password": PASSWORD, "new_password": "a brand new passphrase"},
        ),
    ]


def test_every_step_up_operation_refuses_an_aal1_token_with_the_exact_challenge(
    mfa: MfaApi,
) -> None:
    account = mfa.account()
    factor, _ = mfa.factor(account.access_token)
    for answer in step_up_operations(mfa, account.access_token, factor.id):
        assert_step_up_refused(answer)
    # Nothing was done: the factor is still there.
    listed = mfa.client.get(f"{MFA}/factors", headers=account.headers).json()
    assert [f["id"] for f in listed["factors"]] == [factor.id]


@pytest.mark.settings(step_up_max_age_seconds=120)
def test_the_challenge_names_the_configured_max_age(mfa: MfaApi) -> None:
    account = mfa.account()
    factor, _ = mfa.factor(account.access_token)
    answer = mfa.client.delete(f"{MFA}/factors/{factor.id}", headers=account.headers)
    assert_step_up_refused(answer, max_age=120)


def test_a_code_reauthentication_raises_the_same_session_to_aal2_and_lets_it_through(
    mfa: MfaApi,
) -> None:
    account = mfa.account()
    factor, _ = mfa.factor(account.access_token)
    next_step(mfa.clock)
    raised = mfa.reauthenticate(account.access_token, method="totp", code=factor.code(mfa.clock))
    assert raised.status_code == 200, raised.text
    tokens = raised.json()
    before = jwt.decode(account.access_token, options={"verify_signature": False})
    after = jwt.decode(tokens["access_token"], options={"verify_signature": False})
    assert after["sid"] == before["sid"]
    assert (after["acr"], after["amr"]) == ("aal2", ["pwd", "otp", "mfa"])
    assert after["auth_time"] == int(mfa.clock.now)
    # The old refresh token was spent; the new one copies aal2.
    assert mfa.refresh(account.refresh_token).status_code == 401
    refreshed = mfa.refresh(tokens["refresh_token"]).json()
    assert jwt.decode(refreshed["access_token"], options={"verify_signature": False})["acr"] == (
        "aal2"
    )
    codes = mfa.client.post(f"{MFA}/recovery-codes", headers=bearer(tokens["access_token"]))
    assert codes.status_code == 200
    assert len(codes.json()["recovery_codes"]) == 10


def test_an_aal2_that_is_too_old_is_refused_naming_auth_time(mfa: MfaApi) -> None:
    account = mfa.account()
    factor, _ = mfa.factor(account.access_token)
    next_step(mfa.clock)
    access = mfa.verify(mfa.mfa_token(), factor.code(mfa.clock)).json()["access_token"]
    mfa.clock.advance(301)
    answer = mfa.client.post(f"{MFA}/recovery-codes", headers=bearer(access))
    assert_step_up_refused(answer, missing="auth_time")


def test_a_password_alone_raises_nothing_for_a_user_with_a_factor(mfa: MfaApi) -> None:
    account = mfa.account()
    factor, _ = mfa.factor(account.access_token)
    next_step(mfa.clock)
    access = mfa.verify(mfa.mfa_token(), factor.code(mfa.clock)).json()["access_token"]
    again = mfa.reauthenticate(access, password=PASSWORD)
    assert again.status_code == 200
    lowered = again.json()["access_token"]
    claims = jwt.decode(lowered, options={"verify_signature": False})
    assert (claims["acr"], claims["amr"]) == ("aal1", ["pwd"])
    answer = mfa.client.post(f"{MFA}/recovery-codes", headers=bearer(lowered))
    assert_step_up_refused(answer)


def test_a_wrong_password_at_reauthentication_is_a_403(mfa: MfaApi) -> None:
    account = mfa.account()
    answer = mfa.reauthenticate(account.access_token, password="not the password")
    assert answer.status_code == 403


def test_a_user_without_a_factor_changes_the_password_without_a_step_up(mfa: MfaApi) -> None:
    account = mfa.account()
    answer = mfa.client.post(
        "/api/v1/auth/password",
        headers=account.headers,
        json={"current_password": PASSWORD, "new_password": "a brand new passphrase"},
    )
    assert answer.status_code == 200


def test_a_password_change_after_a_step_up_keeps_the_factors(mfa: MfaApi) -> None:
    account = mfa.account()
    factor, _ = mfa.factor(account.access_token)
    access = mfa.stepped_up(account.access_token, factor)
    changed = mfa.client.post(
        "/api/v1/auth/password",
        headers=bearer(access),
        json={"current_password": PASSWORD, "new_password": "a brand new passphrase"},
    )
    assert changed.status_code == 200
    assert mfa.login(password="a brand new passphrase").status_code == 403  # still two factors


def test_removing_the_last_factor_drops_every_session_to_aal1(mfa: MfaApi) -> None:
    account = mfa.account()
    factor, _ = mfa.factor(account.access_token)
    next_step(mfa.clock)
    raised = mfa.reauthenticate(account.access_token, method="totp", code=factor.code(mfa.clock))
    tokens = raised.json()
    removed = mfa.client.delete(
        f"{MFA}/factors/{factor.id}", headers=bearer(tokens["access_token"])
    )
    assert removed.status_code == 204
    # The token still says aal2, but its session no longer is: no more step-up operations.
    answer = mfa.client.post(f"{MFA}/recovery-codes", headers=bearer(tokens["access_token"]))
    assert_step_up_refused(answer)
    refreshed = mfa.refresh(tokens["refresh_token"]).json()
    claims = jwt.decode(refreshed["access_token"], options={"verify_signature": False})
    assert (claims["acr"], claims["amr"]) == ("aal1", ["pwd"])


def test_regenerated_recovery_codes_replace_the_old_set(mfa: MfaApi) -> None:
    account = mfa.account()
    factor, old_codes = mfa.factor(account.access_token)
    next_step(mfa.clock)
    raised = mfa.reauthenticate(account.access_token, method="totp", code=factor.code(mfa.clock))
    new_codes = mfa.client.post(
        f"{MFA}/recovery-codes", headers=bearer(raised.json()["access_token"])
    ).json()["recovery_codes"]
    assert not set(new_codes) & set(old_codes)
    refused = mfa.verify(mfa.mfa_token(), old_codes[1], method="recovery_code")
    assert refused.status_code == 403
    accepted = mfa.verify(mfa.mfa_token(), new_codes[1], method="recovery_code")
    assert accepted.status_code == 200
