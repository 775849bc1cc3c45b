"""Steps about second factors: an authenticator app, codes, recovery codes, step-up."""

from __future__ import annotations

import base64
import json

from behave import given, then, when
from behave.runner import Context

from features.steps.sessions import log_in
from features.support.auth_api import api, problem
from features.support.authenticator import (
    MFA,
    Authenticator,
    added_app,
    call,
    wait_for_a_fresh_step,
)
from features.support.people import Tokens, person

STEP_UP_CHALLENGE = 'Bearer error="insufficient_user_authentication", acr_values="aal2"'


def app_of(context: Context) -> Authenticator:
    app: Authenticator = context.authenticator
    return app


def claims(access_token: str) -> dict[str, object]:
    payload = access_token.split(".")[1]
    decoded: dict[str, object] = json.loads(base64.urlsafe_b64decode(payload + "=="))
    return decoded


def add_app(context: Context) -> None:
    someone = context.actor
    wait_for_a_fresh_step()
    enrolment = call(context, "POST", f"{MFA}/totp", access_token=someone.session.access)
    assert enrolment.status_code == 201, enrolment.text
    app = added_app(enrolment.json()["secret"], enrolment.json()["factor_id"])
    context.response = call(
        context,
        "POST",
        f"{MFA}/totp/{app.factor_id}/confirm",
        {"code": app.next_code()},
        someone.session.access,
    )
    assert context.response.status_code == 200, context.response.text
    app.recovery_codes = context.response.json().get("recovery_codes", [])
    context.recovery_codes = app.recovery_codes
    context.authenticator = app


def second_step(context: Context, method: str, code: str) -> None:
    someone = context.actor
    challenge = api(context).login(someone.email, someone.password)
    assert challenge.status_code == 403, challenge.text
    body = {"mfa_token": challenge.json()["mfa_token"], "method": method, "code": code}
    context.response = call(context, "POST", f"{MFA}/verify", body)
    context.used_code = code


def reauthenticate(context: Context) -> None:
    someone = context.actor
    body = {"method": "totp", "code": app_of(context).next_code()}
    context.response = call(
        context, "POST", "/api/v1/auth/reauthenticate", body, someone.session.access
    )
    assert context.response.status_code == 200, context.response.text
    tokens = context.response.json()
    someone.tokens = Tokens(tokens["access_token"], tokens["refresh_token"])


@given("{who:Who} has added an authenticator app")
def has_added_an_authenticator_app(context: Context, who: str) -> None:
    someone = person(context, who)
    someone.tokens = log_in(context, someone)
    add_app(context)


@given("{who:Who} has logged in with a code from her app")
def has_logged_in_with_a_code_from_her_app(context: Context, who: str) -> None:
    has_added_an_authenticator_app(context, who)
    second_step(context, "totp", app_of(context).next_code())
    assert context.response.status_code == 200, context.response.text


@given("{who:Who} has authenticated again with the code her app shows")
@when("{who:Who} authenticates again with the code her app shows")
def authenticates_again_with_the_code_her_app_shows(context: Context, who: str) -> None:
    person(context, who)
    reauthenticate(context)


@when("{who:Who} adds an authenticator app and confirms it with its first code")
def adds_an_authenticator_app(context: Context, who: str) -> None:
    person(context, who)
    add_app(context)


@when("{who:Who} gives the code her app shows")
def gives_the_code_her_app_shows(context: Context, who: str) -> None:
    person(context, who)
    body = {"mfa_token": context.mfa_token, "method": "totp", "code": app_of(context).next_code()}
    context.response = call(context, "POST", f"{MFA}/verify", body)


@when("{who:Who} logs in with the same code again")
def logs_in_with_the_same_code_again(context: Context, who: str) -> None:
    person(context, who)
    second_step(context, "totp", context.used_code)


@when("{who:Who} logs in with one of her recovery codes")
def logs_in_with_one_of_her_recovery_codes(context: Context, who: str) -> None:
    person(context, who)
    # Her latest set: the one her app brought, or the one she asked for since.
    second_step(context, "recovery_code", context.recovery_codes[0])


@when("{who:Who} logs in with the same recovery code again")
def logs_in_with_the_same_recovery_code_again(context: Context, who: str) -> None:
    person(context, who)
    second_step(context, "recovery_code", context.used_code)


@when("{who:Who} asks for new recovery codes")
def asks_for_new_recovery_codes(context: Context, who: str) -> None:
    someone = person(context, who)
    context.response = call(
        context, "POST", f"{MFA}/recovery-codes", access_token=someone.session.access
    )


@when("{who:Who} removes her authenticator app")
def removes_her_authenticator_app(context: Context, who: str) -> None:
    someone = person(context, who)
    path = f"{MFA}/factors/{app_of(context).factor_id}"
    context.response = call(context, "DELETE", path, access_token=someone.session.access)
    assert context.response.status_code == 204, context.response.text


@then("she receives ten recovery codes")
def she_receives_ten_recovery_codes(context: Context) -> None:
    assert context.response.status_code == 200, context.response.text
    codes = context.response.json()["recovery_codes"]
    assert len(codes) == len(set(codes)) == 10
    context.recovery_codes = codes


@then("her authenticator app is listed among her second factors")
def her_authenticator_app_is_listed(context: Context) -> None:
    listed = call(context, "GET", f"{MFA}/factors", access_token=context.actor.session.access)
    assert [f["id"] for f in listed.json()["factors"]] == [app_of(context).factor_id]


@then("she is asked for a second factor and given no tokens")
def she_is_asked_for_a_second_factor(context: Context) -> None:
    assert context.response.status_code == 403, context.response.text
    body = problem(context.response)
    assert body["type"].endswith("mfa-required") and body["error"] == "mfa_required"
    assert "access_token" not in body and "refresh_token" not in body
    context.mfa_token = body["mfa_token"]


@then("she is logged in with two factors")
def she_is_logged_in_with_two_factors(context: Context) -> None:
    tokens = Tokens.issued_by(context.response)
    assert claims(tokens.access)["acr"] == "aal2"
    assert claims(tokens.access)["amr"] == ["pwd", "otp", "mfa"]
    assert api(context).profile(tokens.access).status_code == 200


@then("she is logged in with a recovery code")
def she_is_logged_in_with_a_recovery_code(context: Context) -> None:
    tokens = Tokens.issued_by(context.response)
    assert claims(tokens.access)["amr"] == ["pwd", "rcode", "mfa"]


@then("the code is refused as already used")
def the_code_is_refused_as_already_used(context: Context) -> None:
    assert context.response.status_code == 403, context.response.text
    assert problem(context.response)["type"].endswith("mfa-code-used")


@then("the code is refused")
def the_code_is_refused(context: Context) -> None:
    assert context.response.status_code == 403, context.response.text
    assert problem(context.response)["type"].endswith("mfa-invalid")


@then("she is asked to authenticate again with a second factor")
def she_is_asked_to_authenticate_again(context: Context) -> None:
    assert context.response.status_code == 401, context.response.text
    assert context.response.headers["WWW-Authenticate"].startswith(STEP_UP_CHALLENGE)
    assert problem(context.response)["type"].endswith("step-up-required")


@then("she logs in with her password alone")
def she_logs_in_with_her_password_alone(context: Context) -> None:
    someone = context.actor
    tokens = Tokens.issued_by(api(context).login(someone.email, someone.password))
    assert claims(tokens.access)["acr"] == "aal1"
