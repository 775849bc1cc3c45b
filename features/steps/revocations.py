"""Steps about revoking a token, which any holder of it may do."""

from __future__ import annotations

from behave import then, when
from behave.runner import Context

from features.support.auth_api import api
from features.support.people import person


@when("{who:Who} revokes {token:Token}")
def revokes(context: Context, who: str, token: str) -> None:
    context.response = api(context).revoke(person(context, who).token(token))


@then("the revocation is accepted")
def the_revocation_is_accepted(context: Context) -> None:
    assert context.response.status_code == 200, context.response.text
    assert context.response.content == b""
