"""Recovery codes back up whatever second factor the user has, a TOTP factor or a passkey.

End to end on the memory store: tests/store/test_recovery_code_factors.py holds the same
rules, and their races, on all three.
"""

from __future__ import annotations

from typing import Any

import pytest
from starlette.testclient import TestClient

from tests.api_moves import PASSWORD
from tests.clock import Clock
from tests.forgery import claims_of
from tests.mfa_moves import MFA, bearer, start_at_a_step
from tests.passkey_moves import PasskeyApi

WRONG_CODE = "AAAA-AAAA-AAAA-AAAA"


@pytest.fixture
def store_url() -> str:
    # The store does not matter here: tests/store races the same rules on all three.
    return "memory://"


@pytest.fixture
def pk(client: TestClient, clock: Clock) -> PasskeyApi:
    start_at_a_step(clock)
    return PasskeyApi(client, clock)


def regenerate(pk: PasskeyApi, access_token: str) -> Any:
    return pk.client.post(f"{MFA}/recovery-codes", headers=bearer(access_token))


def passkey_user_with_codes(pk: PasskeyApi) -> tuple[str, list[str]]:
    """A user whose only second factor is a passkey, with codes she asked for at aal2.

    Return the access token of her passkey login and the codes.
    """
    account = pk.account()
    pk.passkey(account.access_token)
    return codes_by_passkey_login(pk)


def codes_by_passkey_login(pk: PasskeyApi) -> tuple[str, list[str]]:
    """Log in with the passkey (aal2) and ask for codes; return the access token and them."""
    login = pk.passkey_login()
    assert login.status_code == 200, login.text
    access = login.json()["access_token"]
    answer = regenerate(pk, access)
    assert answer.status_code == 200, answer.text
    return access, answer.json()["recovery_codes"]


def test_a_passkey_user_who_made_codes_is_offered_them_at_the_second_step(
    pk: PasskeyApi,
) -> None:
    account = pk.account()
    pk.passkey(account.access_token)
    assert pk.login().json()["methods"] == ["webauthn"]  # no codes yet, none listed
    codes_by_passkey_login(pk)
    assert pk.login().json()["methods"] == ["recovery_code", "webauthn"]


def test_a_user_who_spent_every_code_is_no_longer_offered_them(pk: PasskeyApi) -> None:
    account = pk.account()
    _, codes = pk.factor(account.access_token)
    assert pk.login().json()["methods"] == ["totp", "recovery_code"]
    for code in codes[:-1]:
        assert pk.verify(pk.mfa_token(), code, method="recovery_code").status_code == 200
    assert pk.login().json()["methods"] == ["totp", "recovery_code"]
    assert pk.verify(pk.mfa_token(), codes[-1], method="recovery_code").status_code == 200
    assert pk.login().json()["methods"] == ["totp"]


def test_a_recovery_code_finishes_the_login_of_a_passkey_user_once(pk: PasskeyApi) -> None:
    _, codes = passkey_user_with_codes(pk)
    answer = pk.verify(pk.mfa_token(), codes[0], method="recovery_code")
    assert answer.status_code == 200, answer.text
    access = claims_of(answer.json()["access_token"])
    assert (access["acr"], access["amr"]) == ("aal2", ["pwd", "rcode", "mfa"])
    again = pk.verify(pk.mfa_token(), codes[0], method="recovery_code")
    assert again.status_code == 403
    assert again.json()["type"].endswith("mfa-invalid")


@pytest.mark.settings(mfa_max_failures=3)
def test_a_passkey_users_wrong_codes_count_against_the_second_factor_limit(
    pk: PasskeyApi,
) -> None:
    _, codes = passkey_user_with_codes(pk)
    token = pk.mfa_token()
    for _ in range(3):
        refused = pk.verify(token, WRONG_CODE, method="recovery_code")
        assert refused.status_code == 403
    # Past the limit even the right code is not looked at, whichever token brings it.
    assert pk.verify(pk.mfa_token(), codes[0], method="recovery_code").status_code == 429


def test_removing_the_last_totp_factor_keeps_the_codes_while_a_passkey_is_left(
    pk: PasskeyApi,
) -> None:
    account = pk.account()
    factor, codes = pk.factor(account.access_token)
    access = pk.stepped_up(account.access_token, factor)
    pk.passkey(access)
    removed = pk.client.delete(f"{MFA}/factors/{factor.id}", headers=bearer(access))
    assert removed.status_code == 204
    assert pk.login().json()["methods"] == ["recovery_code", "webauthn"]
    answer = pk.verify(pk.mfa_token(), codes[0], method="recovery_code")
    assert answer.status_code == 200, answer.text


def test_removing_the_last_passkey_takes_the_codes_when_no_totp_factor_is_left(
    pk: PasskeyApi,
) -> None:
    access, codes = passkey_user_with_codes(pk)
    (passkey,) = pk.client.get("/api/v1/auth/passkeys", headers=bearer(access)).json()["passkeys"]
    assert pk.remove_passkey(access, passkey["id"]).status_code == 204
    assert pk.login().status_code == 200  # no second factor: the password alone
    # The codes went with the passkey: a new factor brings a new set, and the old ones fail.
    account = pk.account()
    _, fresh = pk.factor(account.access_token)
    assert len(fresh) == 10
    refused = pk.verify(pk.mfa_token(), codes[0], method="recovery_code")
    assert refused.status_code == 403


def test_a_passkey_user_can_regenerate_codes_only_after_a_step_up(pk: PasskeyApi) -> None:
    access, codes = passkey_user_with_codes(pk)
    # A password reauthentication is aal1: not enough.
    lowered = pk.reauthenticate(access, password=PASSWORD)
    assert lowered.status_code == 200, lowered.text
    refused = regenerate(pk, lowered.json()["access_token"])
    assert refused.status_code == 401
    assert 'acr_values="aal2"' in refused.headers["www-authenticate"]
    raised = pk.reauthenticate_with_passkey(lowered.json()["access_token"])
    assert raised.status_code == 200, raised.text
    renewed = regenerate(pk, raised.json()["access_token"])
    assert renewed.status_code == 200
    assert len(renewed.json()["recovery_codes"]) == 10
    # The old set stopped working; the new one works.
    assert pk.verify(pk.mfa_token(), codes[0], method="recovery_code").status_code == 403
    fresh = renewed.json()["recovery_codes"][0]
    assert pk.verify(pk.mfa_token(), fresh, method="recovery_code").status_code == 200


def test_a_user_without_a_second_factor_gets_no_codes(pk: PasskeyApi) -> None:
    account = pk.account()
    refused = regenerate(pk, account.access_token)
    assert refused.status_code == 401
    assert 'acr_values="aal2"' in refused.headers["www-authenticate"]
    assert pk.login().status_code == 200
