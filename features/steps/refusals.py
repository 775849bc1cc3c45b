"""Steps about refusals that any capability can end in."""

from __future__ import annotations

from behave import then
from behave.runner import Context

from features.support.auth_api import problem, refused


@then("her request is refused as unauthenticated")
@then("the request is refused as unauthenticated")
def the_request_is_refused_as_unauthenticated(context: Context) -> None:
    # The challenge blames a token exactly when the request carried one.
    token_presented = "Authorization" in context.response.request.headers
    refused(context.response, token_presented=token_presented)


@then("the {attempt} is refused as invalid, naming the {field}")
def the_attempt_is_refused_as_invalid_naming_the_field(
    context: Context, attempt: str, field: str
) -> None:
    assert context.response.status_code == 400, (context.response.status_code, attempt)
    detail = problem(context.response)["detail"]
    assert field in detail, detail


@then("the refusal does not reveal her password")
def the_refusal_does_not_reveal_her_password(context: Context) -> None:
    password = context.actor.password
    assert password, "an empty password cannot leak"
    assert password not in context.response.text, context.response.text
