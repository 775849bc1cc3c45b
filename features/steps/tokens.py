"""Steps about tokens: refreshing, rotation, and replaying a spent refresh token."""

from __future__ import annotations

import time

from behave import given, then, when
from behave.runner import Context

from features.support.auth_api import api, refused
from features.support.people import Tokens, person

# The server judges reuse in whole epoch seconds (`now - rotated_at <= grace`), so with a
# grace of 0 a replay within the same second still counts as a retry. Just over a second
# later it is past the window for certain; no clock can be injected into a real server.
PAST_A_ZERO_GRACE_WINDOW_SECONDS = 1.1


@given("{who:Who} has refreshed her tokens")
def has_refreshed_her_tokens(context: Context, who: str) -> None:
    someone = person(context, who)
    someone.refreshed(Tokens.issued_by(api(context).refresh(someone.session.refresh)))


@when("{who:Who} refreshes her tokens")
def refreshes_her_tokens(context: Context, who: str) -> None:
    someone = person(context, who)
    context.response = api(context).refresh(someone.session.refresh)


@when("{who:Who} refreshes with {token:Token}")
def refreshes_with(context: Context, who: str, token: str) -> None:
    context.response = api(context).refresh(person(context, who).token(token))


@when("her previous refresh token is replayed after the grace window")
def her_previous_refresh_token_is_replayed_after_the_grace_window(context: Context) -> None:
    time.sleep(PAST_A_ZERO_GRACE_WINDOW_SECONDS)
    context.response = api(context).refresh(context.actor.token("her previous refresh token"))


@then("she receives a new access token and a new refresh token")
def she_receives_a_new_access_token_and_a_new_refresh_token(context: Context) -> None:
    tokens = Tokens.issued_by(context.response)
    old = context.actor.session
    assert tokens.access != old.access and tokens.refresh != old.refresh
    assert context.response.json()["token_type"] == "bearer"
    assert context.response.headers.get("Cache-Control") == "no-store"
    context.actor.refreshed(tokens)


@then("her token is refused as invalid")
def her_token_is_refused_as_invalid(context: Context) -> None:
    refused(context.response, token_presented=True)


@then("{token:Token} can no longer be exchanged")
def her_token_can_no_longer_be_exchanged(context: Context, token: str) -> None:
    response = api(context).refresh(context.actor.token(token))
    refused(response, token_presented=True)


@then("{token:Token} still buys a new pair of tokens")
def her_token_still_buys_a_new_pair_of_tokens(context: Context, token: str) -> None:
    Tokens.issued_by(api(context).refresh(context.actor.token(token)))
