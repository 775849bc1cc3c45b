"""Steps about a resource server that asks the API whether a token is still valid."""

from __future__ import annotations

import jwt
from behave import then, when
from behave.runner import Context

from features.support.auth_api import api, problem
from features.support.people import person

WRONG_CREDENTIALS = ("features-resource-server", "not-the-secret")


@when("the resource server introspects {token:Token}")
def the_resource_server_introspects(context: Context, token: str) -> None:
    context.introspected = person(context, "she").token(token)
    context.response = api(context).introspect(context.introspected, context.introspection_client)


@when("a stranger introspects her access token {how}")
def a_stranger_introspects_her_access_token(context: Context, how: str) -> None:
    credentials = {"without credentials": None, "with wrong credentials": WRONG_CREDENTIALS}[how]
    token = person(context, "she").session.access
    context.response = api(context).introspect(token, credentials)


@then("the token is active as her {kind} token")
def the_token_is_active_as_her_token(context: Context, kind: str) -> None:
    response = context.response
    assert response.status_code == 200, response.text
    assert response.headers.get("Cache-Control") == "no-store"
    answer = response.json()
    assert answer["active"] is True, answer
    assert answer["token_type"] == f"{kind}_token", answer
    claims = jwt.decode(context.introspected, options={"verify_signature": False})
    assert answer["sub"] == context.actor.user_id, answer
    for claim in ("sid", "exp", "iat", "iss", "aud", "jti"):
        assert answer[claim] == claims[claim], (claim, answer)


@then("the token is inactive")
def the_token_is_inactive(context: Context) -> None:
    assert context.response.status_code == 200, context.response.text
    assert context.response.json() == {"active": False}


@then("the stranger is refused as an unknown client")
def the_stranger_is_refused_as_an_unknown_client(context: Context) -> None:
    response = context.response
    assert response.status_code == 401, response.text
    assert response.headers["WWW-Authenticate"].startswith('Basic realm="'), response.headers
    assert problem(response)["error"] == "invalid_client"
