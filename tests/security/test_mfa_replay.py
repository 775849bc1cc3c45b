"""Replay of a TOTP code (RFC 6238 §5.2): a time step is accepted once, on every store."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from starlette.testclient import TestClient

from tests.backends import BACKENDS, storage_url
from tests.clock import Clock
from tests.mfa_moves import (
    MFA,
    MfaApi,
    async_mfa_token,
    async_user_with_factor,
    next_step,
    start_at_a_step,
)

RACERS = 10


@pytest.fixture(params=BACKENDS)
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    with storage_url(request.param, tmp_path) as url:
        yield url


@pytest.fixture
def mfa(client: TestClient, clock: Clock) -> MfaApi:
    start_at_a_step(clock)
    return MfaApi(client, clock)


def test_a_code_used_once_is_refused_as_used_the_second_time(mfa: MfaApi) -> None:
    account = mfa.account()
    factor, _ = mfa.factor(account.access_token)
    next_step(mfa.clock)
    code = factor.code(mfa.clock)
    assert mfa.verify(mfa.mfa_token(), code).status_code == 200
    replayed = mfa.verify(mfa.mfa_token(), code)
    assert replayed.status_code == 403
    assert replayed.json()["type"].endswith("mfa-code-used")
    assert "wait for the next code" in replayed.json()["detail"]


def test_the_code_that_confirmed_the_factor_cannot_log_in(mfa: MfaApi) -> None:
    account = mfa.account()
    factor, _ = mfa.factor(account.access_token)
    replayed = mfa.verify(mfa.mfa_token(), factor.code(mfa.clock))
    assert replayed.json()["type"].endswith("mfa-code-used")


def test_a_code_of_an_earlier_step_is_refused_once_a_later_one_was_used(mfa: MfaApi) -> None:
    account = mfa.account()
    factor, _ = mfa.factor(account.access_token)
    next_step(mfa.clock)
    next_step(mfa.clock)
    # t+1 is within the drift: used first, it makes t (and t-1) unusable.
    assert mfa.verify(mfa.mfa_token(), factor.code(mfa.clock, steps=1)).status_code == 200
    earlier = mfa.verify(mfa.mfa_token(), factor.code(mfa.clock))
    assert earlier.status_code == 403
    assert earlier.json()["type"].endswith("mfa-code-used")


def test_a_reused_code_is_refused_at_reauthentication_too(mfa: MfaApi) -> None:
    account = mfa.account()
    factor, _ = mfa.factor(account.access_token)
    reused = mfa.reauthenticate(account.access_token, method="totp", code=factor.code(mfa.clock))
    assert reused.status_code == 403
    assert reused.json()["type"].endswith("mfa-code-used")


# Room for every loser's failure: the per-user limit is tests/security/test_mfa_guessing.py's.
@pytest.mark.settings(mfa_max_failures=RACERS)
async def test_parallel_logins_with_one_code_get_exactly_one_session(
    async_client: httpx.AsyncClient, clock: Clock
) -> None:
    start_at_a_step(clock)
    factor, _ = await async_user_with_factor(async_client, clock)
    next_step(clock)
    tokens = [await async_mfa_token(async_client) for _ in range(RACERS)]
    code = factor.code(clock)
    answers = await asyncio.gather(
        *(
            async_client.post(
                f"{MFA}/verify", json={"mfa_token": token, "method": "totp", "code": code}
            )
            for token in tokens
        )
    )
    statuses = sorted(answer.status_code for answer in answers)
    assert statuses == [200] + [403] * (RACERS - 1)
    refused = [answer.json()["type"] for answer in answers if answer.status_code == 403]
    assert all(kind.endswith("mfa-code-used") for kind in refused)


@pytest.mark.settings(mfa_max_failures=RACERS)
async def test_parallel_uses_of_one_recovery_code_get_exactly_one_session(
    async_client: httpx.AsyncClient, clock: Clock
) -> None:
    start_at_a_step(clock)
    _, codes = await async_user_with_factor(async_client, clock)
    tokens = [await async_mfa_token(async_client) for _ in range(RACERS)]
    answers = await asyncio.gather(
        *(
            async_client.post(
                f"{MFA}/verify",
                json={"mfa_token": token, "method": "recovery_code", "code": codes[0]},
            )
            for token in tokens
        )
    )
    assert sorted(answer.status_code for answer in answers) == [200] + [403] * (RACERS - 1)
