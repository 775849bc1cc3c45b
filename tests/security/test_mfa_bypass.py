"""No token without the second step: the browser flow, crossed flows, stale tokens, leaks."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from tests.backends import BACKENDS, decided_before_the_store, storage_url
from tests.clock import Clock
from tests.mfa_moves import Factor, MfaApi, bearer, next_step, start_at_a_step
from tests.token_clients import APP_ORIGIN, BROWSER, BROWSER_SETTINGS, COOKIE, Browser, SetCookie

pytestmark = pytest.mark.settings(**BROWSER_SETTINGS)


@pytest.fixture(params=BACKENDS)
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    with storage_url(request.param, tmp_path) as url:
        yield url


@pytest.fixture
def mfa(client: TestClient, clock: Clock) -> MfaApi:
    start_at_a_step(clock)
    return MfaApi(client, clock)


def test_the_browser_login_sets_no_cookie_before_the_code_and_one_after(mfa: MfaApi) -> None:
    account = mfa.account()
    factor, _ = mfa.factor(account.access_token)
    next_step(mfa.clock)
    browser = Browser(mfa.client)
    challenged = browser.login()
    assert challenged.status_code == 403
    assert "set-cookie" not in challenged.headers
    assert challenged.json()["type"].endswith("mfa-required")
    assert browser.cookie is None and browser.access_token is None
    verified = mfa.client.post(
        f"{BROWSER}/mfa/verify",
        json={
            "mfa_token": challenged.json()["mfa_token"],
            "method": "totp",
            "code": factor.code(mfa.clock),
        },
        headers={"Origin": APP_ORIGIN},
    )
    assert verified.status_code == 200, verified.text
    cookie = SetCookie.of(verified)
    assert cookie is not None and cookie.name == COOKIE
    assert set(verified.json()) == {"access_token", "token_type", "expires_in", "csrf_token"}
    # The cookie session refreshes like any browser session, at aal2.
    browser.cookie, browser.csrf_token = cookie.value, verified.json()["csrf_token"]
    assert browser.refresh().status_code == 200


def test_a_json_logins_token_is_refused_by_the_browser_verify_and_the_reverse(
    mfa: MfaApi,
) -> None:
    account = mfa.account()
    factor, _ = mfa.factor(account.access_token)
    next_step(mfa.clock)
    json_token = mfa.mfa_token()
    crossed = mfa.verify(json_token, factor.code(mfa.clock), browser=True)
    assert crossed.status_code in (403,)
    assert "set-cookie" not in crossed.headers
    browser_token = Browser(mfa.client).login().json()["mfa_token"]
    assert mfa.verify(browser_token, factor.code(mfa.clock)).status_code == 403
    # Each still works in its own flow, once.
    assert mfa.verify(json_token, factor.code(mfa.clock)).status_code == 200


@decided_before_the_store
def test_the_browser_verify_checks_the_origin_before_the_code(mfa: MfaApi) -> None:
    account = mfa.account()
    factor, _ = mfa.factor(account.access_token)
    next_step(mfa.clock)
    token = Browser(mfa.client).login().json()["mfa_token"]
    foreign = mfa.client.post(
        f"{BROWSER}/mfa/verify",
        json={"mfa_token": token, "method": "totp", "code": factor.code(mfa.clock)},
        headers={"Origin": "https://evil.example"},
    )
    assert foreign.status_code == 403
    assert foreign.json()["detail"].startswith("Origin:")
    # The code was not spent on the refused request.
    ok = mfa.client.post(
        f"{BROWSER}/mfa/verify",
        json={"mfa_token": token, "method": "totp", "code": factor.code(mfa.clock)},
        headers={"Origin": APP_ORIGIN},
    )
    assert ok.status_code == 200


def test_an_mfa_token_expires_after_five_minutes(mfa: MfaApi) -> None:
    account = mfa.account()
    factor, _ = mfa.factor(account.access_token)
    token = mfa.mfa_token()
    mfa.clock.advance(301)
    next_step(mfa.clock)
    late = mfa.verify(token, factor.code(mfa.clock))
    assert late.status_code == 403
    assert late.json()["type"].endswith("mfa-invalid")


def test_an_mfa_token_dies_with_a_password_change_between_the_steps(mfa: MfaApi) -> None:
    account = mfa.account()
    factor, _ = mfa.factor(account.access_token)
    next_step(mfa.clock)
    token = mfa.mfa_token()
    raised = mfa.reauthenticate(account.access_token, method="totp", code=factor.code(mfa.clock))
    changed = mfa.client.post(
        "/api/v1/auth/password",
        headers=bearer(raised.json()["access_token"]),
        json={"current_password": account.password, "new_password": "another fine passphrase"},
    )
    assert changed.status_code == 200
    next_step(mfa.clock)
    assert mfa.verify(token, factor.code(mfa.clock)).status_code == 403


def test_garbage_and_another_users_token_are_refused_alike(mfa: MfaApi) -> None:
    ada = mfa.account()
    factor, _ = mfa.factor(ada.access_token)
    next_step(mfa.clock)
    for token in ("garbage", "x" * 256, "\u00e9\u00e9"):
        answer = mfa.verify(token, factor.code(mfa.clock))
        assert answer.status_code == 403
        assert answer.json()["type"].endswith("mfa-invalid")


def test_no_code_secret_or_mfa_token_reaches_a_log_line_or_an_error(
    mfa: MfaApi, log_lines: list[str]
) -> None:
    account = mfa.account()
    enrolment = mfa.enrol(account.access_token).json()
    secret = base64.b32decode(enrolment["secret"] + "=" * (-len(enrolment["secret"]) % 8))
    factor = Factor(enrolment["factor_id"], secret)
    first_code = factor.code(mfa.clock)
    confirmed = mfa.confirm(account.access_token, factor.id, first_code).json()
    next_step(mfa.clock)
    token = mfa.mfa_token()
    wrong = mfa.verify(token, "123456")
    code = factor.code(mfa.clock)
    right = mfa.verify(token, code)
    recovery = confirmed["recovery_codes"][0]
    used = mfa.verify(mfa.mfa_token(), recovery, method="recovery_code")
    assert (right.status_code, used.status_code) == (200, 200)
    output = "\n".join(log_lines)
    assert "mfa_verified" in output and "recovery_code_used" in output
    for secret_text in (enrolment["secret"], first_code, code, token, recovery, "123456"):
        assert secret_text not in output
        assert secret_text not in wrong.text
