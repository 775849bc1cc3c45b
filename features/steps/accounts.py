"""Steps about accounts: registering, and registering an email that is taken."""

from __future__ import annotations

import secrets
import uuid

from behave import given, then, when
from behave.runner import Context

from features.support.auth_api import api, problem
from features.support.people import Person, person, spelled

# None of these characters appears in any refusal, so a leak of the password would show.
PASSWORD_ALPHABET = "ZQXJVK#%&"
EMAIL_PARTS = {
    "her email address": lambda someone: someone.email,
    "the name part of her email address": lambda someone: someone.email.split("@")[0],
}


def register(context: Context, someone: Person, email: str | None = None) -> None:
    """Send her registration, with another spelling of her email if given."""
    context.response = api(context).register(email or someone.email, someone.password)


@given("{who:Who} has registered")
def has_registered(context: Context, who: str) -> None:
    someone = person(context, who)
    register(context, someone)
    assert context.response.status_code == 201, context.response.text
    someone.user_id = context.response.json()["id"]


@when("{who:Who} registers with a fresh email and a good password")
def registers_with_a_fresh_email_and_a_good_password(context: Context, who: str) -> None:
    register(context, person(context, who))


@when("someone registers with her email address")
def someone_registers_with_her_email_address(context: Context) -> None:
    register(context, Person.new("Someone"), context.actor.email)


@when("someone registers with her email address written {spelling}")
def someone_registers_with_her_email_address_written(context: Context, spelling: str) -> None:
    register(context, Person.new("Someone"), spelled(context.actor.email, spelling))


@when('{who:Who} registers with the email address "{email:Quoted}"')
def registers_with_the_email_address(context: Context, who: str, email: str) -> None:
    context.response = api(context).register(email, person(context, who).password)


@when('{who:Who} registers with the password "{password:Quoted}"')
def registers_with_the_password(context: Context, who: str, password: str) -> None:
    someone = person(context, who)
    someone.password = password
    register(context, someone)


@when("{who:Who} registers with a password of {length:d} characters")
def registers_with_a_password_of_length(context: Context, who: str, length: int) -> None:
    someone = person(context, who)
    someone.password = "".join(secrets.choice(PASSWORD_ALPHABET) for _ in range(length))
    register(context, someone)


@when("{who:Who} registers with {part} as her password")
def registers_with_part_of_her_email_as_her_password(context: Context, who: str, part: str) -> None:
    someone = person(context, who)
    someone.password = EMAIL_PARTS[part](someone)
    register(context, someone)


@then("her account is created")
def her_account_is_created(context: Context) -> None:
    response = context.response
    assert response.status_code == 201, (response.status_code, response.text)
    body = response.json()
    assert body["email"] == context.actor.email, body
    assert body["message"] == "User registered", body
    context.actor.user_id = str(uuid.UUID(body["id"]))


@then("the registration is refused because the email is taken")
def the_registration_is_refused_because_the_email_is_taken(context: Context) -> None:
    assert context.response.status_code == 409, context.response.text
    assert "already exists" in problem(context.response)["detail"]
