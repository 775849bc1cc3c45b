"""Steps about the protected profile."""

from __future__ import annotations

from datetime import datetime

from behave import then, when
from behave.runner import Context

from features.support.auth_api import api, refused
from features.support.people import person


@when("{who:Who} reads her profile")
def reads_her_profile(context: Context, who: str) -> None:
    context.response = api(context).profile(person(context, who).session.access)


@when("{who:Who} reads her profile with {token:Token}")
def reads_her_profile_with(context: Context, who: str, token: str) -> None:
    context.response = api(context).profile(person(context, who).token(token))


@when("someone reads the profile without a token")
def someone_reads_the_profile_without_a_token(context: Context) -> None:
    context.response = api(context).profile(None)


@then("she sees her own account data")
def she_sees_her_own_account_data(context: Context) -> None:
    response, someone = context.response, context.actor
    assert response.status_code == 200, (response.status_code, response.text)
    assert response.headers.get("Cache-Control") == "no-store"
    body = response.json()
    assert body["id"] == someone.user_id, body
    assert body["email"] == someone.email, body
    assert datetime.fromisoformat(body["created_at"]).tzinfo is not None, body
    assert body["message"] == "This is protected data", body


@then("{token:Token} opens her profile")
@then("{token:Token} still opens her profile")
def her_token_opens_her_profile(context: Context, token: str) -> None:
    response = api(context).profile(context.actor.token(token))
    assert response.status_code == 200, (response.status_code, response.text)
    assert response.json()["id"] == context.actor.user_id


@then("{token:Token} no longer opens her profile")
def her_token_no_longer_opens_her_profile(context: Context, token: str) -> None:
    refused(api(context).profile(context.actor.token(token)), token_presented=True)
