"""A passkey login refuses every assertion a careful relying party refuses, and says nothing.

The software authenticator lies one way at a time; each lie gets the same 401, spends the
challenge, and counts against the per-address failure limit. The user-handle check and the
sign counter are ours (python-fido2 leaves them to the relying party).
"""

from __future__ import annotations

from typing import Any

import pytest
from starlette.testclient import TestClient

from tests.clock import Clock
from tests.mfa_moves import bearer, start_at_a_step
from tests.passkey_moves import PasskeyApi
from tooling.soft_authenticator import UP, UV, SoftAuthenticator, b64url, unb64url

ACTIVITY = "/api/v1/auth/activity"


@pytest.fixture
def pk(client: TestClient, clock: Clock) -> PasskeyApi:
    start_at_a_step(clock)
    return PasskeyApi(client, clock)


def with_passkey(pk: PasskeyApi, email: str = "ada@example.com") -> Any:
    account = pk.account(email)
    pk.passkey(account.access_token)
    return account


def assert_refused(answer: Any) -> None:
    assert answer.status_code == 401, answer.text
    assert answer.json()["type"].endswith("passkey-refused")
    assert answer.json()["detail"] == (
        "The passkey was not accepted; ask for new options and try again."
    )
    assert answer.headers["www-authenticate"].startswith("Bearer")


@pytest.mark.parametrize(
    "lie",
    [
        {"origin": "https://evil.example"},
        {"origin": "http://localhost:8001"},
        {"rp_id": "evil.example"},
        {"flags": UP},
        {"flags": UV},
        {"tamper_signature": True},
        {"client_type": "webauthn.create"},
    ],
    ids=[
        "foreign-origin",
        "other-port",
        "other-rp-id",
        "no-user-verification",
        "no-user-presence",
        "tampered-signature",
        "registration-ceremony",
    ],
)
def test_an_assertion_that_lies_is_refused_and_the_passkey_still_works(
    pk: PasskeyApi, lie: dict[str, Any]
) -> None:
    with_passkey(pk)
    assert_refused(pk.passkey_login(**lie))
    assert pk.passkey_login().status_code == 200


def test_a_replayed_assertion_is_refused(pk: PasskeyApi) -> None:
    with_passkey(pk)
    options = pk.login_options()
    credential = pk.authenticator.get(options)
    assert pk.send_assertion(options["challenge_id"], credential).status_code == 200
    assert_refused(pk.send_assertion(options["challenge_id"], credential))


def test_a_wrong_assertion_spends_its_challenge(pk: PasskeyApi) -> None:
    with_passkey(pk)
    options = pk.login_options()
    assert_refused(pk.passkey_login(options=options, tamper_signature=True))
    assert_refused(pk.passkey_login(options=options))


def test_an_expired_challenge_is_refused(pk: PasskeyApi) -> None:
    with_passkey(pk)
    options = pk.login_options()
    pk.clock.advance(301)
    assert_refused(pk.passkey_login(options=options))


def test_a_challenge_answers_only_its_own_ceremony(pk: PasskeyApi) -> None:
    with_passkey(pk)
    # A registration challenge of the user's is no login challenge, even signed rightly.
    fresh = bearer(pk.passkey_login().json()["access_token"])
    registration = pk.client.post(
        "/api/v1/auth/passkeys/registration/options", headers=fresh
    ).json()
    credential = pk.authenticator.get(
        {"challenge": registration["publicKey"]["challenge"], "rpId": "localhost"}
    )
    assert_refused(pk.send_assertion(registration["challenge_id"], credential))


def test_a_user_handle_that_belongs_to_another_user_is_refused(pk: PasskeyApi) -> None:
    with_passkey(pk)
    bob = pk.account("bob@example.com")
    bobs_key = SoftAuthenticator()
    assert pk.register_passkey(bob.access_token, authenticator=bobs_key).status_code == 201
    bobs_handle = bobs_key.newest.user_handle
    # Ada's credential, rightly signed, names Bob as its user: it must not log Bob in.
    answer = pk.passkey_login(credential=pk.authenticator.newest, user_handle=bobs_handle)
    assert_refused(answer)
    assert "access_token" not in answer.json()


def test_a_discoverable_login_without_a_user_handle_is_refused(pk: PasskeyApi) -> None:
    with_passkey(pk)
    assert_refused(pk.passkey_login(omit_user_handle=True))


def test_an_unknown_credential_is_refused(pk: PasskeyApi) -> None:
    with_passkey(pk)
    stranger = SoftAuthenticator()
    stranger.create(
        {"rp": {"id": "localhost"}, "user": {"id": b64url(b"x" * 32)}, "challenge": "AA"}
    )
    assert_refused(pk.passkey_login(authenticator=stranger))


def test_a_counter_that_does_not_increase_is_refused_as_a_clone_and_reported(
    pk: PasskeyApi,
) -> None:
    with_passkey(pk)
    first = pk.passkey_login(counter=5)
    assert first.status_code == 200
    for counter in (5, 4, 0):
        assert_refused(pk.passkey_login(counter=counter))
    assert pk.passkey_login(counter=6).status_code == 200
    token = pk.passkey_login(counter=7).json()["access_token"]
    types = [e["type"] for e in pk.client.get(ACTIVITY, headers=bearer(token)).json()["events"]]
    assert types.count("passkey_clone_suspected") == 3
    assert "passkey_failed" in types and "passkey_login" in types


def test_a_synced_passkey_that_always_reports_zero_keeps_working(pk: PasskeyApi) -> None:
    account = pk.account()
    synced = SoftAuthenticator(counter_step=0, backup_eligible=True, backed_up=True)
    assert pk.register_passkey(account.access_token, authenticator=synced).status_code == 201
    for _ in range(3):
        assert pk.passkey_login(authenticator=synced).status_code == 200
    token = pk.passkey_login(authenticator=synced).json()["access_token"]
    listed = pk.client.get("/api/v1/auth/passkeys", headers=bearer(token)).json()["passkeys"]
    assert listed[0]["backed_up"] is True


@pytest.mark.settings(login_max_failures=3)
def test_wrong_assertions_count_against_the_per_address_limit_and_right_ones_do_not(
    pk: PasskeyApi,
) -> None:
    with_passkey(pk)
    for _ in range(5):
        assert pk.passkey_login().status_code == 200
    for _ in range(3):
        assert_refused(pk.passkey_login(tamper_signature=True))
    throttled = pk.passkey_login()
    assert throttled.status_code == 429
    assert int(throttled.headers["retry-after"]) > 0


def test_adding_a_passkey_from_a_single_factor_session_of_a_user_with_totp_needs_step_up(
    pk: PasskeyApi,
) -> None:
    # Supabase's bypass (auth PR #2565): a stolen aal1 session must not add a factor.
    account = pk.account()
    pk.factor(account.access_token)
    single = pk.client.post("/api/v1/auth/passkeys/registration/options", headers=account.headers)
    # The confirming session stays aal1: only a code raises it.
    assert single.status_code == 401
    assert single.json()["type"].endswith("step-up-required")
    assert "insufficient_user_authentication" in single.headers["www-authenticate"]


def test_adding_a_second_passkey_from_a_single_factor_session_needs_step_up(
    pk: PasskeyApi,
) -> None:
    account = with_passkey(pk)
    refused = pk.registration_options(account.access_token)
    assert refused.status_code == 401
    assert refused.json()["type"].endswith("step-up-required")
    assert pk.registration_options(pk.passkey_login().json()["access_token"]).status_code == 200


def test_removing_a_passkey_needs_a_recent_step_up(pk: PasskeyApi) -> None:
    account = with_passkey(pk)
    passkey_id = pk.client.get("/api/v1/auth/passkeys", headers=account.headers).json()["passkeys"][
        0
    ]["id"]
    assert pk.remove_passkey(account.access_token, passkey_id).status_code == 401
    stale = pk.passkey_login().json()["access_token"]
    pk.clock.advance(301)
    refused = pk.remove_passkey(stale, passkey_id)
    assert refused.status_code == 401
    assert refused.json()["detail"].startswith("auth_time:")
    fresh = pk.passkey_login().json()["access_token"]
    assert pk.remove_passkey(fresh, passkey_id).status_code == 204
    assert pk.login().status_code == 200  # no second factor left: the password alone


def test_no_challenge_credential_or_key_material_reaches_the_logs(
    pk: PasskeyApi, log_lines: list[str]
) -> None:
    account = pk.account()
    options = pk.registration_options(account.access_token).json()
    created = pk.authenticator.create(options)
    body = {"challenge_id": options["challenge_id"], "credential": created}
    added = pk.client.post(
        "/api/v1/auth/passkeys/registration/verify", headers=account.headers, json=body
    )
    assert added.status_code == 201
    login_options = pk.login_options()
    assertion = pk.authenticator.get(login_options)
    assert pk.send_assertion(login_options["challenge_id"], assertion).status_code == 200
    assert_refused(pk.passkey_login(tamper_signature=True))
    credential_id = unb64url(created["id"])
    secrets = [
        created["id"],
        credential_id.hex(),
        options["publicKey"]["challenge"],
        unb64url(options["publicKey"]["challenge"]).hex(),
        login_options["publicKey"]["challenge"],
        options["publicKey"]["user"]["id"],
        created["response"]["attestationObject"][:40],
        assertion["response"]["signature"][:40],
    ]
    text = "\n".join(log_lines)
    assert "passkey_login" in text  # the log was captured
    for secret in secrets:
        assert secret not in text


@pytest.mark.parametrize(
    "damage",
    [
        {"authenticatorData": b64url(b"\x00" * 10)},
        {"clientDataJSON": b64url(b"not json")},
        {"clientDataJSON": b64url(b'{"type": "webauthn.get"}')},
        {"signature": ""},
        {"userHandle": b64url(b"\x81" * 3000 + b"\x00")},
    ],
    ids=[
        "short-data",
        "client-data-not-json",
        "client-data-lacking",
        "no-signature",
        "nested-handle",
    ],
)
def test_a_malformed_assertion_is_refused_never_a_server_error(
    pk: PasskeyApi, damage: dict[str, str]
) -> None:
    with_passkey(pk)
    options = pk.login_options()
    credential = pk.authenticator.get(options)
    credential["response"] = {**credential["response"], **damage}
    answer = pk.send_assertion(options["challenge_id"], credential)
    assert answer.status_code in (400, 401), answer.text


@pytest.mark.parametrize(
    "attestation_object",
    [b"\x81" * 3000 + b"\x00", b"\xa1", b"", b"\xa3\x63fmt\x64none"],
    ids=["deeply-nested-cbor", "truncated-map", "empty", "truncated-fields"],
)
def test_a_malformed_registration_is_a_400_never_a_server_error(
    pk: PasskeyApi, attestation_object: bytes
) -> None:
    account = pk.account()
    options = pk.registration_options(account.access_token).json()
    credential = pk.authenticator.create(options)
    credential["response"]["attestationObject"] = b64url(attestation_object)
    body = {"challenge_id": options["challenge_id"], "credential": credential}
    answer = pk.client.post(
        "/api/v1/auth/passkeys/registration/verify", headers=account.headers, json=body
    )
    assert answer.status_code == 400, answer.text
    assert answer.json()["detail"] == "credential: is malformed"


@pytest.mark.settings(auth_rate_limit_per_minute=3)
def test_login_options_and_verifies_count_per_address_with_logins(pk: PasskeyApi) -> None:
    assert pk.login().status_code == 401  # a password login from the address: one
    options = pk.client.post("/api/v1/auth/passkeys/authentication/options")  # two
    assert options.status_code == 200
    assert_refused(
        pk.send_assertion(
            options.json()["challenge_id"],
            {
                "id": "a",
                "rawId": "a",
                "type": "public-key",
                "response": {"clientDataJSON": "", "authenticatorData": "", "signature": ""},
            },
        )
    )  # three
    throttled = pk.client.post("/api/v1/auth/passkeys/authentication/options")
    assert throttled.status_code == 429
