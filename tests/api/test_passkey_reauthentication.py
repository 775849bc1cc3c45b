"""Reauthentication with a passkey on the memory store: a passkey-only user steps up in place.

The challenge's consumption is the store's, raced on all three in tests/store.
"""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from tests.clock import Clock
from tests.forgery import claims_of
from tests.mfa_moves import bearer, start_at_a_step
from tests.passkey_moves import PASSKEYS, PasskeyApi
from tooling.soft_authenticator import UP, SoftAuthenticator


@pytest.fixture
def store_url() -> str:
    return "memory://"


@pytest.fixture
def pk(client: TestClient, clock: Clock) -> PasskeyApi:
    start_at_a_step(clock)
    return PasskeyApi(client, clock)


def test_a_passkey_raises_the_same_session_and_removing_a_passkey_needs_no_new_login(
    pk: PasskeyApi,
) -> None:
    account = pk.account()
    passkey_id = pk.passkey(account.access_token)
    assert pk.remove_passkey(account.access_token, passkey_id).status_code == 401
    pk.clock.advance(60)
    raised = pk.reauthenticate_with_passkey(account.access_token)
    assert raised.status_code == 200, raised.text
    assert raised.headers["cache-control"] == "no-store"
    before, after = claims_of(account.access_token), claims_of(raised.json()["access_token"])
    assert after["sid"] == before["sid"]
    assert after["acr"] == "aal2" and after["amr"] == ["pop", "mfa"]
    assert after["auth_time"] == int(pk.clock.now)
    assert "refresh_token" in raised.json()
    removed = pk.remove_passkey(raised.json()["access_token"], passkey_id)
    assert removed.status_code == 204
    assert pk.client.get(PASSKEYS, headers=bearer(raised.json()["access_token"])).json() == {
        "passkeys": []
    }


def test_reauthentication_options_allow_the_callers_passkeys_with_user_verification(
    pk: PasskeyApi,
) -> None:
    account = pk.account()
    pk.passkey(account.access_token)
    answer = pk.reauthentication_options(account.access_token)
    assert answer.status_code == 200
    assert answer.headers["cache-control"] == "no-store"
    options = answer.json()["publicKey"]
    assert [c["id"] for c in options["allowCredentials"]] == [pk.authenticator.newest.id]
    assert options["userVerification"] == "required"
    assert options["rpId"] == "localhost"


def test_reauthentication_options_refuse_a_user_without_a_passkey(pk: PasskeyApi) -> None:
    account = pk.account()
    refused = pk.reauthentication_options(account.access_token)
    assert refused.status_code == 409
    assert refused.json()["type"].endswith("no-passkey")
    assert pk.reauthentication_options("not a token").status_code == 401


def test_another_users_challenge_is_refused(pk: PasskeyApi) -> None:
    ada = pk.account()
    pk.passkey(ada.access_token)
    adas_options = pk.reauthentication_options(ada.access_token).json()
    bob = pk.account("bob@example.com")
    bobs_key = SoftAuthenticator()
    assert pk.register_passkey(bob.access_token, authenticator=bobs_key).status_code == 201
    # Bob answers Ada's challenge with his own passkey, from his own session.
    taken = pk.reauthenticate_with_passkey(
        bob.access_token, authenticator=bobs_key, options=adas_options, credential=bobs_key.newest
    )
    assert taken.status_code == 403
    assert taken.json()["type"].endswith("mfa-invalid")
    # Ada's challenge was not spent by Bob's attempt: she still answers it.
    assert pk.reauthenticate_with_passkey(ada.access_token, options=adas_options).status_code == 200


def test_another_users_passkey_is_refused_on_the_callers_challenge(pk: PasskeyApi) -> None:
    ada = pk.account()
    pk.passkey(ada.access_token)
    bob = pk.account("bob@example.com")
    bobs_key = SoftAuthenticator()
    assert pk.register_passkey(bob.access_token, authenticator=bobs_key).status_code == 201
    options = pk.reauthentication_options(ada.access_token).json()
    refused = pk.reauthenticate_with_passkey(
        ada.access_token, authenticator=bobs_key, options=options, credential=bobs_key.newest
    )
    assert refused.status_code == 403
    adas_passkey = pk.client.get(PASSKEYS, headers=ada.headers).json()["passkeys"][0]["id"]
    assert pk.remove_passkey(ada.access_token, adas_passkey).status_code == 401


def test_a_replayed_assertion_is_refused(pk: PasskeyApi) -> None:
    account = pk.account()
    pk.passkey(account.access_token)
    options = pk.reauthentication_options(account.access_token).json()
    credential = pk.authenticator.get(options)
    body = {"method": "webauthn", "challenge_id": options["challenge_id"]}
    first = pk.reauthenticate(account.access_token, **body, credential=credential)
    assert first.status_code == 200
    again = pk.reauthenticate(first.json()["access_token"], **body, credential=credential)
    assert again.status_code == 403
    assert again.json()["type"].endswith("mfa-invalid")


@pytest.mark.parametrize(
    "lies",
    [
        pytest.param({"flags": UP}, id="no user verification"),
        pytest.param({"origin": "https://evil.example"}, id="foreign origin"),
        pytest.param({"rp_id": "evil.example"}, id="another relying party"),
        pytest.param({"tamper_signature": True}, id="tampered signature"),
        pytest.param({"user_handle": b"h" * 32}, id="another user handle"),
    ],
)
def test_an_assertion_that_fails_a_check_is_a_wrong_code_and_raises_nothing(
    pk: PasskeyApi, lies: dict[str, object]
) -> None:
    account = pk.account()
    pk.passkey(account.access_token)
    refused = pk.reauthenticate_with_passkey(account.access_token, **lies)
    assert refused.status_code == 403, refused.text
    assert refused.json()["type"].endswith("mfa-invalid")


def test_a_counter_that_does_not_increase_is_refused(pk: PasskeyApi) -> None:
    account = pk.account()
    pk.passkey(account.access_token)
    assert pk.reauthenticate_with_passkey(account.access_token, counter=5).status_code == 200
    assert pk.reauthenticate_with_passkey(account.access_token, counter=5).status_code == 403


@pytest.mark.parametrize("purpose", ["login", "second step"])
def test_a_challenge_of_another_purpose_is_refused(pk: PasskeyApi, purpose: str) -> None:
    account = pk.account()
    pk.passkey(account.access_token)
    options = (
        pk.login_options() if purpose == "login" else pk.webauthn_options(pk.mfa_token()).json()
    )
    refused = pk.reauthenticate_with_passkey(account.access_token, options=options)
    assert refused.status_code == 403


@pytest.mark.settings(mfa_max_failures=3)
def test_wrong_assertions_count_against_the_second_factor_limit(pk: PasskeyApi) -> None:
    account = pk.account()
    pk.passkey(account.access_token)
    for _ in range(3):
        guess = pk.reauthenticate_with_passkey(account.access_token, tamper_signature=True)
        assert guess.status_code == 403
    locked = pk.reauthenticate_with_passkey(account.access_token)
    assert locked.status_code == 429
    assert "retry-after" in locked.headers


@pytest.mark.parametrize("credential", ["a string", 7, {"id": "a"}])
def test_a_body_with_no_assertion_is_refused_as_a_wrong_one(
    pk: PasskeyApi, credential: object
) -> None:
    account = pk.account()
    pk.passkey(account.access_token)
    options = pk.reauthentication_options(account.access_token).json()
    refused = pk.client.post(
        "/api/v1/auth/reauthenticate",
        headers=account.headers,
        json={
            "method": "webauthn",
            "challenge_id": options["challenge_id"],
            "credential": credential,
        },
    )
    assert refused.status_code == 403, refused.text


def test_webauthn_with_a_code_instead_of_an_assertion_is_a_bad_request(pk: PasskeyApi) -> None:
    account = pk.account()
    pk.passkey(account.access_token)
    refused = pk.reauthenticate(account.access_token, method="webauthn", code="123456")
    assert refused.status_code == 400
    assert refused.headers["content-type"] == "application/problem+json"


def test_the_activity_log_and_the_metrics_show_the_passkey_reauthentication(
    pk: PasskeyApi,
) -> None:
    account = pk.account()
    passkey_id = pk.passkey(account.access_token)
    assert (
        pk.reauthenticate_with_passkey(account.access_token, tamper_signature=True).status_code
        == 403
    )
    raised = pk.reauthenticate_with_passkey(account.access_token)
    access = raised.json()["access_token"]
    events = pk.client.get("/api/v1/auth/activity", headers=bearer(access)).json()["events"]
    kinds = [(e["type"], e["details"].get("factor_id")) for e in events[:2]]
    assert kinds == [("mfa_verified", passkey_id), ("mfa_failed", None)]
    text = pk.client.get("/metrics").text
    for event in ("mfa_verified", "mfa_failed", "passkey_failed", "reauthenticated"):
        assert f'authapi_auth_events_total{{event="{event}"}}' in text, event
