"""The `passkeys` tag end to end, on the memory store (and on every store where it mattered)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from tests.backends import BACKENDS, storage_url
from tests.clock import Clock
from tests.forgery import claims_of
from tests.mfa_moves import bearer, start_at_a_step
from tests.passkey_moves import PASSKEYS, PasskeyApi
from tooling.soft_authenticator import UP, UV, SoftAuthenticator, unb64url


@pytest.fixture
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    # The memory store, unless a test names the backends (indirect parametrization): the store
    # rarely matters here, since tests/store and tests/security race it on all three.
    with storage_url(getattr(request, "param", "memory"), tmp_path) as url:
        yield url


@pytest.fixture
def pk(client: TestClient, clock: Clock) -> PasskeyApi:
    start_at_a_step(clock)
    return PasskeyApi(client, clock)


def test_creation_options_ask_for_a_discoverable_verified_credential_without_attestation(
    pk: PasskeyApi,
) -> None:
    account = pk.account()
    answer = pk.registration_options(account.access_token)
    assert answer.status_code == 200
    assert answer.headers["cache-control"] == "no-store"
    options = answer.json()["publicKey"]
    assert options["rp"] == {"id": "localhost", "name": "auth-api"}
    assert options["authenticatorSelection"]["residentKey"] == "required"
    assert options["authenticatorSelection"]["userVerification"] == "required"
    assert options["attestation"] == "none"
    assert [p["alg"] for p in options["pubKeyCredParams"]] == [-8, -7, -257]
    assert len(unb64url(options["challenge"])) == 32
    assert options["excludeCredentials"] == []


def test_the_user_handle_is_32_random_bytes_kept_per_user_never_her_id_or_email(
    pk: PasskeyApi,
) -> None:
    account = pk.account()
    user_id = claims_of(account.access_token)["sub"]
    first = pk.registration_options(account.access_token).json()["publicKey"]["user"]
    again = pk.registration_options(account.access_token).json()["publicKey"]["user"]
    handle = unb64url(first["id"])
    assert len(handle) == 32
    assert first["id"] == again["id"]
    assert str(user_id).encode() not in handle and b"ada@example.com" not in handle
    other = pk.account("bob@example.com")
    assert (
        pk.registration_options(other.access_token).json()["publicKey"]["user"]["id"]
        != (first["id"])
    )


def test_a_registered_passkey_is_listed_renamed_and_excluded_from_the_next_options(
    pk: PasskeyApi,
) -> None:
    account = pk.account()
    added = pk.register_passkey(account.access_token, name="Work laptop")
    assert added.status_code == 201
    assert set(added.json()) == {"id", "name", "created_at"}
    assert added.json()["name"] == "Work laptop"
    listed = pk.client.get(PASSKEYS, headers=account.headers).json()["passkeys"]
    assert listed == [
        {
            "id": added.json()["id"],
            "name": "Work laptop",
            "created_at": added.json()["created_at"],
            "last_used_at": None,
            "backed_up": False,
        }
    ]
    renamed = pk.client.patch(
        f"{PASSKEYS}/{added.json()['id']}", headers=account.headers, json={"name": "Phone"}
    )
    assert renamed.status_code == 200 and renamed.json()["name"] == "Phone"
    # She has a second factor now: the next passkey needs a step-up, which a passkey login is.
    login = pk.passkey_login().json()
    excluded = pk.registration_options(login["access_token"]).json()["publicKey"]
    assert [c["id"] for c in excluded["excludeCredentials"]] == [pk.authenticator.newest.id]


def test_a_passkey_without_a_name_is_called_passkey_and_a_control_character_is_refused(
    pk: PasskeyApi,
) -> None:
    account = pk.account()
    assert pk.register_passkey(account.access_token).json()["name"] == "Passkey"
    passkey_id = pk.client.get(PASSKEYS, headers=account.headers).json()["passkeys"][0]["id"]
    refused = pk.client.patch(
        f"{PASSKEYS}/{passkey_id}", headers=account.headers, json={"name": "a\u0007b"}
    )
    assert refused.status_code == 400
    assert refused.json()["detail"].startswith("name: ")
    assert "\u0007" not in refused.text


def test_another_users_passkey_answers_as_a_missing_one(pk: PasskeyApi) -> None:
    owner = pk.account()
    passkey_id = pk.passkey(owner.access_token)
    stranger = pk.account("bob@example.com")
    renamed = pk.client.patch(
        f"{PASSKEYS}/{passkey_id}", headers=stranger.headers, json={"name": "Mine"}
    )
    assert renamed.status_code == 404
    assert pk.client.get(PASSKEYS, headers=stranger.headers).json() == {"passkeys": []}


def test_a_passkey_login_issues_aal2_tokens_with_pop_and_mfa_that_reach_the_profile(
    pk: PasskeyApi,
) -> None:
    account = pk.account()
    pk.passkey(account.access_token)
    answer = pk.passkey_login()
    assert answer.status_code == 200, answer.text
    assert answer.headers["cache-control"] == "no-store"
    body = answer.json()
    assert {"access_token", "refresh_token", "device_token"} <= set(body)
    token = claims_of(body["access_token"])
    assert token["acr"] == "aal2" and token["amr"] == ["pop", "mfa"]
    assert token["auth_time"] == int(pk.clock.now)
    assert pk.profile(body["access_token"]).json()["email"] == "ada@example.com"
    assert pk.refresh(body["refresh_token"]).status_code == 200
    listed = pk.client.get(PASSKEYS, headers=bearer(body["access_token"])).json()["passkeys"]
    assert listed[0]["last_used_at"] is not None


def test_login_options_name_no_credential_and_require_user_verification(pk: PasskeyApi) -> None:
    options = pk.login_options()["publicKey"]
    assert "allowCredentials" not in options or options["allowCredentials"] == []
    assert options["userVerification"] == "required"
    assert options["rpId"] == "localhost"


def test_a_browser_passkey_login_sets_the_cookies_of_a_browser_login(pk: PasskeyApi) -> None:
    account = pk.account()
    pk.passkey(account.access_token)
    answer = pk.passkey_login(browser=True)
    assert answer.status_code == 200, answer.text
    assert set(answer.json()) == {"access_token", "token_type", "expires_in", "csrf_token"}
    cookies = answer.headers.get_list("set-cookie")
    assert any(c.startswith("__Secure-refresh_token=") and "HttpOnly" in c for c in cookies)
    assert any(c.startswith("__Secure-device_token=") for c in cookies)
    assert claims_of(answer.json()["access_token"])["amr"] == ["pop", "mfa"]


def test_a_browser_passkey_login_from_a_foreign_origin_is_refused(pk: PasskeyApi) -> None:
    account = pk.account()
    pk.passkey(account.access_token)
    options = pk.login_options()
    credential = pk.authenticator.get(options)
    refused = pk.client.post(
        "/api/v1/auth/browser/passkeys/authentication/verify",
        json={"challenge_id": options["challenge_id"], "credential": credential},
        headers={"Origin": "https://evil.example"},
    )
    assert refused.status_code == 403
    assert "set-cookie" not in refused.headers


def test_a_password_login_of_a_user_with_a_passkey_asks_for_it_and_it_ends_the_login(
    pk: PasskeyApi,
) -> None:
    account = pk.account()
    pk.passkey(account.access_token)
    asked = pk.login()
    assert asked.status_code == 403
    assert asked.json()["methods"] == ["webauthn"]
    options = pk.webauthn_options(asked.json()["mfa_token"]).json()["publicKey"]
    assert [c["id"] for c in options["allowCredentials"]] == [pk.authenticator.newest.id]
    assert options["userVerification"] == "required"
    verified = pk.verify_with_passkey(asked.json()["mfa_token"])
    assert verified.status_code == 200, verified.text
    token = claims_of(verified.json()["access_token"])
    assert token["acr"] == "aal2" and token["amr"] == ["pwd", "pop", "mfa"]


def test_the_browser_second_step_takes_a_passkey_too(pk: PasskeyApi) -> None:
    account = pk.account()
    pk.passkey(account.access_token)
    asked = pk.client.post(
        "/api/v1/auth/browser/login",
        json={"email": "ada@example.com", "password": account.password},
        headers={"Origin": "http://testserver"},
    )
    assert asked.status_code == 403
    verified = pk.verify_with_passkey(asked.json()["mfa_token"], browser=True)
    assert verified.status_code == 200, verified.text
    assert "csrf_token" in verified.json()


def test_a_user_with_totp_and_a_passkey_is_offered_every_method(pk: PasskeyApi) -> None:
    account = pk.account()
    factor, _ = pk.factor(account.access_token)
    pk.passkey(pk.stepped_up(account.access_token, factor))
    assert pk.login().json()["methods"] == ["totp", "recovery_code", "webauthn"]


def test_webauthn_options_refuse_a_token_of_a_user_without_passkeys(pk: PasskeyApi) -> None:
    account = pk.account()
    pk.factor(account.access_token)
    refused = pk.webauthn_options(pk.mfa_token())
    assert refused.status_code == 403
    assert refused.json()["type"].endswith("mfa-invalid")
    assert pk.webauthn_options("no-such-token").status_code == 403


def test_a_passkey_of_another_user_is_no_second_factor(pk: PasskeyApi) -> None:
    ada = pk.account()
    pk.passkey(ada.access_token)
    bob = pk.account("bob@example.com")
    bobs_key = SoftAuthenticator()
    assert pk.register_passkey(bob.access_token, authenticator=bobs_key).status_code == 201
    token = pk.mfa_token()
    options = pk.webauthn_options(token).json()
    credential = bobs_key.get(options["publicKey"], credential=bobs_key.newest)
    refused = pk.client.post(
        "/api/v1/auth/mfa/verify",
        json={
            "mfa_token": token,
            "method": "webauthn",
            "challenge_id": options["challenge_id"],
            "credential": credential,
        },
    )
    assert refused.status_code == 403


def test_registration_refuses_a_foreign_origin_another_rp_and_no_user_verification(
    pk: PasskeyApi,
) -> None:
    account = pk.account()
    for lies, rule in (
        ({"origin": "https://evil.example"}, "comes from an origin not in WEBAUTHN_ORIGINS"),
        ({"rp_id": "evil.example"}, "is for another relying party (RP ID hash)"),
        ({"flags": UP}, "lacks user verification (UV flag)"),
        ({"flags": UV}, "lacks user presence (UP flag)"),
    ):
        refused = pk.register_passkey(account.access_token, **lies)
        assert refused.status_code == 400, lies
        assert refused.json()["detail"] == f"credential: {rule}"
    assert pk.client.get(PASSKEYS, headers=account.headers).json() == {"passkeys": []}


def test_a_registration_challenge_is_answered_once(pk: PasskeyApi) -> None:
    account = pk.account()
    pk.passkey(account.access_token)
    # Stepped up by a passkey login: the second passkey is what the test is about.
    headers = bearer(pk.passkey_login().json()["access_token"])
    options = pk.client.post(f"{PASSKEYS}/registration/options", headers=headers).json()
    body = {"challenge_id": options["challenge_id"], "credential": pk.authenticator.create(options)}
    first = pk.client.post(f"{PASSKEYS}/registration/verify", headers=headers, json=body)
    assert first.status_code == 201
    again = pk.client.post(f"{PASSKEYS}/registration/verify", headers=headers, json=body)
    assert again.status_code == 400
    assert again.json()["detail"].startswith("challenge_id: ")


def test_a_registration_challenge_is_bound_to_its_user(pk: PasskeyApi) -> None:
    ada = pk.account()
    options = pk.registration_options(ada.access_token).json()
    bob = pk.account("bob@example.com")
    body = {"challenge_id": options["challenge_id"], "credential": pk.authenticator.create(options)}
    taken = pk.client.post(f"{PASSKEYS}/registration/verify", headers=bob.headers, json=body)
    assert taken.status_code == 400


def test_a_credential_id_is_unique_across_users(pk: PasskeyApi) -> None:
    ada = pk.account()
    pk.passkey(ada.access_token)
    bob = pk.account("bob@example.com")
    reused = pk.authenticator.newest.credential_id
    duplicate = pk.register_passkey(
        bob.access_token, authenticator=SoftAuthenticator(), credential_id=reused
    )
    assert duplicate.status_code == 409
    assert duplicate.json()["type"].endswith("passkey-registered")


@pytest.mark.parametrize("store_url", BACKENDS, indirect=True)
@pytest.mark.parametrize("owner", ["hers", "another user's"])
def test_a_taken_credential_id_is_a_409_passkey_registered_below_the_cap_and_at_it(
    pk: PasskeyApi, owner: str
) -> None:
    ada = pk.account()
    pk.passkey(ada.access_token)
    fresh = pk.passkey_login().json()["access_token"]
    if owner == "hers":
        reused = pk.authenticator.newest.credential_id
    else:
        bob, bobs_authenticator = pk.account("bob@example.com"), SoftAuthenticator()
        added = pk.register_passkey(bob.access_token, authenticator=bobs_authenticator)
        assert added.status_code == 201
        reused = bobs_authenticator.newest.credential_id
    below = pk.register_passkey(fresh, authenticator=SoftAuthenticator(), credential_id=reused)
    assert below.status_code == 409
    assert below.json()["type"].endswith("passkey-registered")
    for _ in range(8):
        pk.passkey(fresh)
    # Options asked for at nine passkeys, answered once the tenth is in.
    late = pk.registration_options(fresh).json()
    pk.passkey(fresh)
    body = {
        "challenge_id": late["challenge_id"],
        "credential": SoftAuthenticator().create(late, credential_id=reused),
    }
    at_the_cap = pk.client.post(f"{PASSKEYS}/registration/verify", headers=bearer(fresh), json=body)
    assert at_the_cap.status_code == 409
    assert at_the_cap.json()["type"].endswith("passkey-registered")
    assert len(pk.client.get(PASSKEYS, headers=bearer(fresh)).json()["passkeys"]) == 10


def test_options_answered_once_the_tenth_passkey_is_in_are_a_409_too_many_passkeys(
    pk: PasskeyApi,
) -> None:
    account = pk.account()
    pk.passkey(account.access_token)
    fresh = pk.passkey_login().json()["access_token"]
    for _ in range(8):
        pk.passkey(fresh)
    late = pk.registration_options(fresh).json()
    pk.passkey(fresh)
    body = {"challenge_id": late["challenge_id"], "credential": SoftAuthenticator().create(late)}
    refused = pk.client.post(f"{PASSKEYS}/registration/verify", headers=bearer(fresh), json=body)
    assert refused.status_code == 409
    assert refused.json()["type"].endswith("too-many-passkeys")
    assert len(pk.client.get(PASSKEYS, headers=bearer(fresh)).json()["passkeys"]) == 10


def test_at_most_ten_passkeys_per_user(pk: PasskeyApi) -> None:
    account = pk.account()
    pk.passkey(account.access_token)
    fresh = pk.passkey_login().json()["access_token"]
    for _ in range(9):
        pk.passkey(fresh)
    refused = pk.registration_options(fresh)
    assert refused.status_code == 409
    assert refused.json()["type"].endswith("too-many-passkeys")
    assert len(pk.client.get(PASSKEYS, headers=bearer(fresh)).json()["passkeys"]) == 10


@pytest.mark.settings(max_sessions_per_user=2)
def test_a_passkey_login_honours_max_sessions_per_user(pk: PasskeyApi) -> None:
    account = pk.account()
    pk.passkey(account.access_token)
    first, second, third = (pk.passkey_login().json() for _ in range(3))
    assert pk.profile(first["access_token"]).status_code == 401
    assert pk.profile(second["access_token"]).status_code == 200
    assert pk.profile(third["access_token"]).status_code == 200


def test_every_passkey_event_is_counted_in_the_metrics(pk: PasskeyApi) -> None:
    account = pk.account()
    passkey_id = pk.passkey(account.access_token)  # passkey_registered
    assert pk.passkey_login(tamper_signature=True).status_code == 401  # passkey_failed
    fresh = pk.passkey_login().json()["access_token"]  # passkey_login
    assert pk.passkey_login(counter=0).status_code == 401  # passkey_clone_suspected
    assert pk.remove_passkey(fresh, passkey_id).status_code == 204  # passkey_removed
    text = pk.client.get("/metrics").text
    for event in (
        "passkey_registered",
        "passkey_failed",
        "passkey_clone_suspected",
        "passkey_login",
        "passkey_removed",
    ):
        assert f'authapi_auth_events_total{{event="{event}"}}' in text, event


def test_the_activity_log_shows_a_passkeys_life_with_its_id(pk: PasskeyApi) -> None:
    account = pk.account()
    passkey_id = pk.passkey(account.access_token)
    fresh = pk.passkey_login().json()["access_token"]
    assert pk.remove_passkey(fresh, passkey_id).status_code == 204
    events = pk.client.get("/api/v1/auth/activity", headers=bearer(fresh)).json()["events"]
    mine = [(e["type"], e["details"].get("factor_id")) for e in events if "passkey" in e["type"]]
    assert mine == [
        ("passkey_removed", passkey_id),
        ("passkey_login", passkey_id),
        ("passkey_registered", passkey_id),
    ]


@pytest.mark.parametrize("credential", ["a string", 7, {"id": "a"}])
def test_a_second_step_with_no_assertion_is_refused_as_a_wrong_code(
    pk: PasskeyApi, credential: object
) -> None:
    account = pk.account()
    pk.passkey(account.access_token)
    token = pk.mfa_token()
    options = pk.webauthn_options(token).json()
    body = {
        "mfa_token": token,
        "method": "webauthn",
        "challenge_id": options["challenge_id"],
        "credential": credential,
    }
    refused = pk.client.post("/api/v1/auth/mfa/verify", json=body)
    assert refused.status_code == 403, refused.text
    assert refused.json()["type"].endswith("mfa-invalid")
