"""Steps about known devices: the device token a login hands out, and the next login's."""

from __future__ import annotations

from behave import given, then, when
from behave.runner import Context

from features.support.auth_api import api, problem
from features.support.people import person

# LOGIN_MAX_FAILURES: the guesses one network gets at one account in a window.
MAX_FAILURES = 5


@given("{who:Who} has logged in on her phone")
def has_logged_in_on_her_phone(context: Context, who: str) -> None:
    someone = person(context, who)
    response = api(context).login(someone.email, someone.password)
    assert response.status_code == 200, response.text
    someone.device_token = response.json()["device_token"]


@given("someone on her network has guessed her password wrong until refused")
def someone_on_her_network_has_guessed_until_refused(context: Context) -> None:
    someone = person(context, "she")
    statuses = [
        api(context).login(someone.email, f"guess {n} at {someone.password}").status_code
        for n in range(MAX_FAILURES + 1)
    ]
    assert statuses == [401] * MAX_FAILURES + [429], statuses


@when("{who:Who} logs in on her phone")
def logs_in_on_her_phone(context: Context, who: str) -> None:
    someone = person(context, who)
    context.response = api(context).login(someone.email, someone.password, someone.device_token)


@then("her login is refused as too many attempts")
def her_login_is_refused_as_too_many_attempts(context: Context) -> None:
    response = context.response
    assert response.status_code == 429, (response.status_code, response.text)
    problem(response)
    assert int(response.headers["Retry-After"]) >= 1
