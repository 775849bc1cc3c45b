"""Steps about browser sessions: a cookie the page cannot read, a CSRF token it must send."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from behave import given, then, when
from behave.runner import Context

from features.support.auth_api import api, problem, session_cookie
from features.support.people import Person, Tokens, person

# An origin that is neither the API's own nor listed in CORS_ORIGINS.
FOREIGN_ORIGIN = "https://another-site.example"


@dataclass
class BrowserTab:
    """What a browser holds for the app: the cookie, and what the page keeps in memory."""

    cookie: str | None = None
    csrf_token: str | None = None
    access_token: str | None = None


def app_origin(context: Context) -> str:
    """The browser app's origin: `-D app_origin=...`, or else the API's own."""
    configured: str | None = context.config.userdata.get("app_origin")
    if configured:
        return configured
    parts = urlsplit(context.base_url)
    return f"{parts.scheme}://{parts.netloc}"


def tab_of(context: Context, someone: Person) -> BrowserTab:
    """Return the browser tab of a person, opened on first use."""
    tabs: dict[str, BrowserTab] = context.__dict__.setdefault("browser_tabs", {})
    return tabs.setdefault(someone.name, BrowserTab())


def take(context: Context, someone: Person) -> None:
    """Let her browser keep what the last response gave it, as a browser and the page would."""
    tab, response = tab_of(context, someone), context.response
    cookie = session_cookie(response)
    if cookie is not None:
        tab.cookie = None if cookie["max-age"] == "0" else cookie.value
    if response.status_code == 200:
        body = response.json()
        tab.access_token, tab.csrf_token = body["access_token"], body["csrf_token"]
    if tab.access_token is not None and tab.cookie is not None:
        # The token steps of the other features speak of these as her tokens.
        someone.tokens = Tokens(access=tab.access_token, refresh=tab.cookie)


def log_in_from_the_browser(context: Context, someone: Person) -> None:
    """Register her if needed and log in from the browser app."""
    client = api(context)
    if someone.user_id is None:
        registration = client.register(someone.email, someone.password)
        assert registration.status_code == 201, registration.text
        someone.user_id = registration.json()["id"]
    context.response = client.browser_login(someone.email, someone.password, app_origin(context))
    assert context.response.status_code == 200, context.response.text
    take(context, someone)


@given("{who:Who} has logged in from the browser app")
def has_logged_in_from_the_browser_app(context: Context, who: str) -> None:
    log_in_from_the_browser(context, person(context, who))
    context.cookie_at_login = tab_of(context, context.actor).cookie


@given("{who:Who} has logged out of her browser session")
def has_logged_out_of_her_browser_session(context: Context, who: str) -> None:
    someone = person(context, who)
    tab = tab_of(context, someone)
    context.response = api(context).browser_logout(tab.cookie, tab.csrf_token, app_origin(context))
    assert context.response.status_code == 204, context.response.text
    take(context, someone)


@when("{who:Who} logs in from the browser app")
def logs_in_from_the_browser_app(context: Context, who: str) -> None:
    someone = person(context, who)
    if someone.user_id is None:
        registration = api(context).register(someone.email, someone.password)
        someone.user_id = registration.json()["id"]
    context.response = api(context).browser_login(
        someone.email, someone.password, app_origin(context)
    )
    take(context, someone)


@when("{who:Who} refreshes her browser session")
def refreshes_her_browser_session(context: Context, who: str) -> None:
    someone = person(context, who)
    tab = tab_of(context, someone)
    context.response = api(context).browser_refresh(tab.cookie, tab.csrf_token, app_origin(context))
    take(context, someone)


@when("{who:Who} logs out of her browser session")
def logs_out_of_her_browser_session(context: Context, who: str) -> None:
    someone = person(context, who)
    tab = tab_of(context, someone)
    context.response = api(context).browser_logout(tab.cookie, tab.csrf_token, app_origin(context))
    take(context, someone)


@when("a page {action} her browser session {how}")
def a_page_acts_on_her_browser_session(context: Context, action: str, how: str) -> None:
    tab = tab_of(context, context.actor)
    csrf_token = {
        "without the CSRF token": None,
        "with another session's CSRF token": _another_sessions_csrf_token(context),
        "with a made-up CSRF token": "x" * 43,
    }[how]
    send = {"refreshes": api(context).browser_refresh, "logs out of": api(context).browser_logout}
    context.response = send[action](tab.cookie, csrf_token, app_origin(context))


@when("a page on another site {action} her browser session")
def a_page_on_another_site_acts_on_her_browser_session(context: Context, action: str) -> None:
    tab = tab_of(context, context.actor)
    send = {"refreshes": api(context).browser_refresh, "logs out of": api(context).browser_logout}
    context.response = send[action](tab.cookie, tab.csrf_token, FOREIGN_ORIGIN)


@when("a page on another site logs her in from the browser app")
def a_page_on_another_site_logs_her_in(context: Context) -> None:
    someone = context.actor
    context.response = api(context).browser_login(someone.email, someone.password, FOREIGN_ORIGIN)


@then("her browser holds a session cookie that scripts cannot read")
def her_browser_holds_a_session_cookie_that_scripts_cannot_read(context: Context) -> None:
    cookie = session_cookie(context.response)
    assert cookie is not None, context.response.headers
    assert cookie["httponly"] and cookie["secure"], cookie.output()
    assert cookie["samesite"].lower() == "strict", cookie.output()
    assert cookie["path"] == "/api/v1/auth/browser", cookie.output()
    assert cookie.key.startswith("__Secure-")


@then("the page receives an access token and a CSRF token but no refresh token")
def the_page_receives_no_refresh_token(context: Context) -> None:
    body = context.response.json()
    assert set(body) == {"access_token", "token_type", "expires_in", "csrf_token"}, body
    assert tab_of(context, context.actor).cookie not in context.response.text
    assert context.response.headers.get("Cache-Control") == "no-store"


@then("her browser session cookie is replaced")
def her_browser_session_cookie_is_replaced(context: Context) -> None:
    assert context.response.status_code == 200, context.response.text
    assert tab_of(context, context.actor).cookie not in (None, context.cookie_at_login)


@then("her browser no longer holds a session cookie")
def her_browser_no_longer_holds_a_session_cookie(context: Context) -> None:
    assert tab_of(context, context.actor).cookie is None


@then("the request is refused as forbidden")
def the_request_is_refused_as_forbidden(context: Context) -> None:
    assert context.response.status_code == 403, context.response.text
    problem(context.response)
    assert session_cookie(context.response) is None


@then("her browser session still works")
def her_browser_session_still_works(context: Context) -> None:
    someone = context.actor
    tab = tab_of(context, someone)
    assert tab.cookie == context.cookie_at_login, "the refused request changed the cookie"
    response = api(context).browser_refresh(tab.cookie, tab.csrf_token, app_origin(context))
    assert response.status_code == 200, response.text


def _another_sessions_csrf_token(context: Context) -> str:
    someone = context.actor
    response = api(context).browser_login(someone.email, someone.password, app_origin(context))
    assert response.status_code == 200, response.text
    token: str = response.json()["csrf_token"]
    return token
