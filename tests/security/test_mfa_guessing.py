"""Guessing second-factor codes: per mfa_token, per user, in parallel, apart from passwords."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from starlette.testclient import TestClient

from tests.api_moves import PASSWORD
from tests.backends import BACKENDS, storage_url
from tests.clock import Clock
from tests.mfa_moves import (
    MFA,
    Factor,
    MfaApi,
    async_mfa_token,
    async_user_with_factor,
    next_step,
    start_at_a_step,
)


@pytest.fixture(params=BACKENDS)
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    with storage_url(request.param, tmp_path) as url:
        yield url


@pytest.fixture
def mfa(client: TestClient, clock: Clock) -> MfaApi:
    start_at_a_step(clock)
    return MfaApi(client, clock)


def wrong(factor: Factor, clock: Clock) -> str:
    # Not the code of t-1, t or t+1.
    right = {factor.code(clock, steps) for steps in (-1, 0, 1)}
    return next(c for c in (f"{n:06d}" for n in range(1_000_000)) if c not in right)


@pytest.mark.settings(mfa_max_failures=50)
def test_an_mfa_token_dies_after_five_wrong_codes_even_for_the_right_one(mfa: MfaApi) -> None:
    account = mfa.account()
    factor, _ = mfa.factor(account.access_token)
    next_step(mfa.clock)
    token = mfa.mfa_token()
    for _ in range(5):
        assert mfa.verify(token, wrong(factor, mfa.clock)).status_code == 403
    dead = mfa.verify(token, factor.code(mfa.clock))
    assert dead.status_code == 403
    assert dead.json()["type"].endswith("mfa-invalid")
    # A new login brings a new token, and the code still works there.
    assert mfa.verify(mfa.mfa_token(), factor.code(mfa.clock)).status_code == 200


def test_wrong_codes_past_the_users_limit_get_429_across_tokens_even_for_the_right_code(
    mfa: MfaApi,
) -> None:
    account = mfa.account()
    factor, _ = mfa.factor(account.access_token)
    next_step(mfa.clock)
    for _ in range(5):
        # A fresh token each time: the per-token limit never comes into it.
        assert mfa.verify(mfa.mfa_token(), wrong(factor, mfa.clock)).status_code == 403
    locked = mfa.verify(mfa.mfa_token(), factor.code(mfa.clock))
    assert locked.status_code == 429
    assert int(locked.headers["retry-after"]) > 0
    # Once the window is over, the right code goes through again.
    mfa.clock.advance(900)
    next_step(mfa.clock)
    assert mfa.verify(mfa.mfa_token(), factor.code(mfa.clock)).status_code == 200


def test_a_success_takes_back_its_own_count_and_no_failure(mfa: MfaApi) -> None:
    account = mfa.account()
    factor, _ = mfa.factor(account.access_token)
    next_step(mfa.clock)
    for _ in range(4):
        assert mfa.verify(mfa.mfa_token(), wrong(factor, mfa.clock)).status_code == 403
    assert mfa.verify(mfa.mfa_token(), factor.code(mfa.clock)).status_code == 200
    # Four failures still count: one more is the fifth, the next is over the limit.
    assert mfa.verify(mfa.mfa_token(), wrong(factor, mfa.clock)).status_code == 403
    assert mfa.verify(mfa.mfa_token(), wrong(factor, mfa.clock)).status_code == 429


def test_password_failures_do_not_lock_the_second_factor_nor_the_reverse(mfa: MfaApi) -> None:
    account = mfa.account()
    factor, _ = mfa.factor(account.access_token)
    next_step(mfa.clock)
    for _ in range(4):
        assert mfa.login(password="not the password").status_code == 401
    for _ in range(5):
        assert mfa.verify(mfa.mfa_token(), wrong(factor, mfa.clock)).status_code == 403
    # The password limit still has room: a right password still gets its challenge.
    assert mfa.login().status_code == 403
    mfa.clock.advance(900)
    next_step(mfa.clock)
    assert mfa.verify(mfa.mfa_token(), factor.code(mfa.clock)).status_code == 200


def test_reauthentication_and_confirmation_count_against_the_same_limit(mfa: MfaApi) -> None:
    account = mfa.account()
    factor, _ = mfa.factor(account.access_token)
    next_step(mfa.clock)
    for _ in range(3):
        guess = mfa.reauthenticate(
            account.access_token, method="totp", code=wrong(factor, mfa.clock)
        )
        assert guess.status_code == 403
    for _ in range(2):
        guess = mfa.reauthenticate(
            account.access_token, method="recovery_code", code="AAAA-AAAA-AAAA-AAAA"
        )
        assert guess.status_code == 403
    locked = mfa.reauthenticate(account.access_token, method="totp", code=factor.code(mfa.clock))
    assert locked.status_code == 429
    assert mfa.verify(mfa.mfa_token(), factor.code(mfa.clock)).status_code == 429


def test_wrong_codes_at_confirmation_count_too(mfa: MfaApi) -> None:
    account = mfa.account()
    enrolment = mfa.enrol(account.access_token).json()
    for _ in range(5):
        answer = mfa.confirm(account.access_token, enrolment["factor_id"], "000000")
        assert answer.status_code in (403, 200)
        if answer.status_code == 200:  # one chance in a million that 000000 is right
            pytest.skip("guessed the code")
    locked = mfa.confirm(account.access_token, enrolment["factor_id"], "000000")
    assert locked.status_code == 429


async def test_parallel_guesses_get_no_more_checks_than_the_limit(
    async_client: httpx.AsyncClient, clock: Clock
) -> None:
    start_at_a_step(clock)
    factor, _ = await async_user_with_factor(async_client, clock)
    next_step(clock)
    # Four tokens of five tries each: only the per-user limit can stop the twenty.
    tokens = [await async_mfa_token(async_client) for _ in range(4)]
    guess = wrong(factor, clock)
    answers = await asyncio.gather(
        *(
            async_client.post(
                f"{MFA}/verify", json={"mfa_token": token, "method": "totp", "code": guess}
            )
            for token in tokens
            for _ in range(5)
        )
    )
    statuses = sorted(answer.status_code for answer in answers)
    assert statuses == [403] * 5 + [429] * 15


async def test_password_login_is_not_slowed_by_code_guesses_for_another_account(
    async_client: httpx.AsyncClient, clock: Clock
) -> None:
    start_at_a_step(clock)
    factor, _ = await async_user_with_factor(async_client, clock)
    for _ in range(6):
        token = await async_mfa_token(async_client)
        await async_client.post(
            f"{MFA}/verify",
            json={"mfa_token": token, "method": "totp", "code": wrong(factor, clock)},
        )
    credentials = {"email": "bob@example.com", "password": PASSWORD}
    await async_client.post("/api/v1/auth/register", json=credentials)
    assert (await async_client.post("/api/v1/auth/login", json=credentials)).status_code == 200
