"""Steps about passkeys: adding one, signing in with it, as a second factor, removing it."""

from __future__ import annotations

from behave import given, then, when
from behave.runner import Context

from features.steps.second_factors import claims
from features.steps.sessions import log_in
from features.support.auth_api import api, problem
from features.support.authenticator import call
from features.support.passkeys import (
    PASSKEYS,
    add_passkey,
    answer_second_factor,
    listed_passkeys,
    reauthenticate,
    sign_in,
)
from features.support.people import Tokens, person
from tooling.soft_authenticator import UP


@given("{who:Who} has added a passkey")
def has_added_a_passkey(context: Context, who: str) -> None:
    someone = person(context, who)
    someone.tokens = log_in(context, someone)
    adds_a_passkey_named(context, who, "Phone")
    assert context.response.status_code == 201, context.response.text


@when('{who:Who} adds a passkey named "{name:Quoted}"')
def adds_a_passkey_named(context: Context, who: str, name: str) -> None:
    context.response = add_passkey(context, person(context, who), name)
    if context.response.status_code == 201:
        context.passkey_id = context.response.json()["id"]


@given("{who:Who} has signed in with her passkey")
@when("{who:Who} signs in with her passkey")
def signs_in_with_her_passkey(context: Context, who: str) -> None:
    someone = person(context, who)
    context.response = sign_in(context, someone)
    if context.response.status_code == 200:
        someone.tokens = Tokens.issued_by(context.response)


@when("{who:Who} signs in with her passkey without unlocking it")
def signs_in_with_her_passkey_without_unlocking_it(context: Context, who: str) -> None:
    # Present, but not verified: no PIN, no fingerprint, no face.
    context.response = sign_in(context, person(context, who), flags=UP)


@when("{who:Who} answers with her passkey")
def answers_with_her_passkey(context: Context, who: str) -> None:
    context.response = answer_second_factor(context, person(context, who), context.mfa_token)


@when("{who:Who} authenticates again with her passkey")
def authenticates_again_with_her_passkey(context: Context, who: str) -> None:
    someone = person(context, who)
    context.session_before = claims(someone.session.access)["sid"]
    context.response = reauthenticate(context, someone)
    someone.tokens = Tokens.issued_by(context.response)


@then("she is still in the session she started with her password")
def she_is_still_in_the_session_she_started(context: Context) -> None:
    access = context.actor.session.access
    assert claims(access)["sid"] == context.session_before
    assert claims(access)["acr"] == "aal2"
    assert api(context).profile(access).status_code == 200


@when("{who:Who} removes her passkey")
def removes_her_passkey(context: Context, who: str) -> None:
    someone = person(context, who)
    path = f"{PASSKEYS}/{context.passkey_id}"
    context.response = call(context, "DELETE", path, access_token=someone.session.access)


@then('her passkey "{name:Quoted}" is listed among her passkeys')
def her_passkey_is_listed(context: Context, name: str) -> None:
    [passkey] = listed_passkeys(context, context.actor)
    assert passkey["id"] == context.passkey_id and passkey["name"] == name
    assert passkey["last_used_at"] is None


@then("she is signed in with her passkey alone")
def she_is_signed_in_with_her_passkey_alone(context: Context) -> None:
    tokens = Tokens.issued_by(context.response)
    # Possession of the key and the device's own check of its user: two factors at once.
    assert claims(tokens.access)["acr"] == "aal2"
    assert claims(tokens.access)["amr"] == ["pop", "mfa"]
    assert api(context).profile(tokens.access).status_code == 200
    [passkey] = listed_passkeys(context, context.actor)
    assert passkey["last_used_at"] is not None


@then("the passkey is refused and she is given no tokens")
def the_passkey_is_refused(context: Context) -> None:
    assert context.response.status_code == 401, context.response.text
    body = problem(context.response)
    assert body["type"].endswith("/passkey-refused")
    assert "access_token" not in body and "refresh_token" not in body


@then("her passkey is offered as a second factor")
def her_passkey_is_offered_as_a_second_factor(context: Context) -> None:
    assert "webauthn" in problem(context.response)["methods"]


@then("her recovery codes are offered as a second factor")
def her_recovery_codes_are_offered_as_a_second_factor(context: Context) -> None:
    assert "recovery_code" in problem(context.response)["methods"]


@then("she is logged in with her password and her passkey")
def she_is_logged_in_with_her_password_and_her_passkey(context: Context) -> None:
    tokens = Tokens.issued_by(context.response)
    assert claims(tokens.access)["acr"] == "aal2"
    assert claims(tokens.access)["amr"] == ["pwd", "pop", "mfa"]
    assert api(context).profile(tokens.access).status_code == 200


@then("she has no passkeys left")
def she_has_no_passkeys_left(context: Context) -> None:
    assert context.response.status_code == 204, context.response.text
    assert listed_passkeys(context, context.actor) == []


@then("her passkey no longer signs her in")
def her_passkey_no_longer_signs_her_in(context: Context) -> None:
    refused = sign_in(context, context.actor)
    assert refused.status_code == 401, refused.text
    assert problem(refused)["type"].endswith("/passkey-refused")
