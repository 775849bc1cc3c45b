"""Steps about sessions: logging in, and logging out."""

from __future__ import annotations

from behave import given, then, when
from behave.runner import Context

from features.support.auth_api import api, refused
from features.support.people import Person, Tokens, person, spelled

MISSING_FIELDS = {"an email": "email", "a password": "password"}


def log_in(context: Context, someone: Person) -> Tokens:
    """Register her if needed, log her in, and return the session's tokens."""
    client = api(context)
    if someone.user_id is None:
        registration = client.register(someone.email, someone.password)
        assert registration.status_code == 201, registration.text
        someone.user_id = registration.json()["id"]
    return Tokens.issued_by(client.login(someone.email, someone.password))


@given("{who:Who} has logged in")
def has_logged_in(context: Context, who: str) -> None:
    someone = person(context, who)
    someone.tokens = log_in(context, someone)


@given("{who:Who} has also logged in on another device")
def has_also_logged_in_on_another_device(context: Context, who: str) -> None:
    someone = person(context, who)
    someone.other_device = log_in(context, someone)


@given("{who:Who} has logged out")
def has_logged_out(context: Context, who: str) -> None:
    response = api(context).logout(person(context, who).session.access)
    assert response.status_code == 204, response.text


@given("{who:Who} has been refused for a wrong password")
def has_been_refused_for_a_wrong_password(context: Context, who: str) -> None:
    someone = person(context, who)
    context.earlier_refusal = api(context).login(someone.email, "not " + someone.password)
    refused(context.earlier_refusal, token_presented=False)


@when("{who:Who} logs in")
def logs_in(context: Context, who: str) -> None:
    someone = person(context, who)
    context.response = api(context).login(someone.email, someone.password)


@when("{who:Who} logs in with her email written {spelling}")
def logs_in_with_her_email_written(context: Context, who: str, spelling: str) -> None:
    someone = person(context, who)
    context.response = api(context).login(spelled(someone.email, spelling), someone.password)


@when("{who:Who} logs in with the wrong password")
def logs_in_with_the_wrong_password(context: Context, who: str) -> None:
    someone = person(context, who)
    context.response = api(context).login(someone.email, someone.password + "!")


@when("someone logs in with an email nobody registered")
def someone_logs_in_with_an_email_nobody_registered(context: Context) -> None:
    stranger = Person.new("Stranger")
    context.response = api(context).login(stranger.email, stranger.password)


@when("someone logs in without {missing}")
def someone_logs_in_without(context: Context, missing: str) -> None:
    stranger = Person.new("Stranger")
    fields: dict[str, str | None] = {"email": stranger.email, "password": stranger.password}
    fields[MISSING_FIELDS[missing]] = None
    context.response = api(context).login(fields["email"], fields["password"])


@when("{who:Who} logs out")
def logs_out(context: Context, who: str) -> None:
    context.response = api(context).logout(person(context, who).session.access)


@when("someone logs out without a token")
def someone_logs_out_without_a_token(context: Context) -> None:
    context.response = api(context).logout(None)


@then("she receives an access token and a refresh token")
def she_receives_an_access_token_and_a_refresh_token(context: Context) -> None:
    response = context.response
    tokens = Tokens.issued_by(response)
    assert response.json()["token_type"] == "bearer", response.text
    assert tokens.access != tokens.refresh
    context.actor.tokens = tokens


@then("the tokens are marked never to be stored")
def the_tokens_are_marked_never_to_be_stored(context: Context) -> None:
    cache_control = context.response.headers.get("Cache-Control")
    assert cache_control == "no-store", cache_control


@then("the refusal is the same as for her wrong password")
def the_refusal_is_the_same_as_for_her_wrong_password(context: Context) -> None:
    refused(context.response, token_presented=False)
    earlier, now = context.earlier_refusal, context.response
    assert now.content == earlier.content, (now.text, earlier.text)
    for header in ("Content-Type", "WWW-Authenticate"):
        assert now.headers.get(header) == earlier.headers.get(header), header


@then("she is logged out")
def she_is_logged_out(context: Context) -> None:
    assert context.response.status_code == 204, context.response.text
    assert context.response.content == b""
