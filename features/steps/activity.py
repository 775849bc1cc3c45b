"""Steps about account activity: what happened to an account, as its owner reads it."""

from __future__ import annotations

from typing import Any

from behave import given, then, when
from behave.runner import Context

from features.support.auth_api import api
from features.support.authenticator import MFA, call
from features.support.people import Person, person


def _events(context: Context) -> list[dict[str, Any]]:
    response = context.response
    assert response.status_code == 200, response.text
    events: list[dict[str, Any]] = response.json()["events"]
    return events


@given("a stranger has tried her password {count:d} times")
def a_stranger_has_tried_her_password(context: Context, count: int) -> None:
    _try_wrong_passwords(context, person(context, "she"), count)


@given("a stranger has tried {who:Who}'s password {count:d} times")
def a_stranger_has_tried_someones_password(context: Context, who: str, count: int) -> None:
    _try_wrong_passwords(context, person(context, who), count)


def _try_wrong_passwords(context: Context, someone: Person, count: int) -> None:
    for _ in range(count):
        response = api(context).login(someone.email, "not " + someone.password)
        assert response.status_code == 401, response.text


@given("someone has tried an email nobody registered")
def someone_has_tried_an_email_nobody_registered(context: Context) -> None:
    stranger = Person.new("Stranger")
    response = api(context).login(stranger.email, stranger.password)
    assert response.status_code == 401, response.text


@given("{who:Who} has ended her other device's session")
def has_ended_her_other_devices_session(context: Context, who: str) -> None:
    client, someone = api(context), person(context, who)
    sessions = client.list_sessions(someone.session.access).json()["items"]
    [other] = [session for session in sessions if not session["current"]]
    response = client.end_session(someone.session.access, other["id"])
    assert response.status_code == 204, response.text
    context.ended_session = other["id"]


@when("{who:Who} reads her account activity")
def reads_her_account_activity(context: Context, who: str) -> None:
    context.response = api(context).activity(person(context, who).session.access)


@then("she sees {count:d} failed attempts on her account, as one entry")
def she_sees_failed_attempts_as_one_entry(context: Context, count: int) -> None:
    failed = [event for event in _events(context) if event["type"] == "login_failed"]
    assert [event["details"]["count"] for event in failed] == [count], failed


@then("she sees the session she ended")
def she_sees_the_session_she_ended(context: Context) -> None:
    ended = [event for event in _events(context) if event["type"] == "session_revoked"]
    assert [event["session_id"] for event in ended] == [context.ended_session], ended


@then("she sees her logins")
def she_sees_her_logins(context: Context) -> None:
    kinds = [event["type"] for event in _events(context)]
    assert kinds.count("login_succeeded") == 2, kinds


@then("she sees only her login")
def she_sees_only_her_login(context: Context) -> None:
    kinds = [event["type"] for event in _events(context)]
    assert kinds == ["login_succeeded"], kinds


@given("a stranger who knows her password has tried {count:d} wrong codes")
def a_stranger_has_tried_wrong_codes(context: Context, count: int) -> None:
    someone = person(context, "she")
    challenge = api(context).login(someone.email, someone.password)
    assert challenge.status_code == 403, challenge.text
    # Half a million away from the last code shown: no code of the steps around it.
    wrong = str((int(context.authenticator.last_code()) + 500_000) % 1_000_000).zfill(6)
    body = {"mfa_token": challenge.json()["mfa_token"], "method": "totp", "code": wrong}
    for _ in range(count):
        response = call(context, "POST", f"{MFA}/verify", body)
        assert response.status_code == 403, response.text


@then("she sees her authenticator app added and used to log in")
def she_sees_her_authenticator_app_added_and_used(context: Context) -> None:
    factor_id = context.authenticator.factor_id
    events = _events(context)
    for kind in ("mfa_enrolled", "mfa_verified"):
        found = [event for event in events if event["type"] == kind]
        assert [event["details"] for event in found] == [{"factor_id": factor_id}], events
    # The login that needed the code is listed once, just after the code it took.
    kinds = [event["type"] for event in events]
    assert kinds.index("login_succeeded") + 1 == kinds.index("mfa_verified"), kinds


@then("she sees the {count:d} wrong codes tried on her account")
def she_sees_the_wrong_codes(context: Context, count: int) -> None:
    # One entry a minute from one address; the attempts may straddle a minute's end.
    failed = [event for event in _events(context) if event["type"] == "mfa_failed"]
    assert sum(event["details"]["count"] for event in failed) == count, failed
