"""Handlers for the `browser` tag: sessions whose refresh token lives in an HttpOnly cookie."""

from __future__ import annotations

from typing import Any

from connexion import request
from connexion.context import scope
from starlette.requests import cookie_parser
from starlette.responses import Response

from authapi.browser import BrowserLogin
from authapi.errors import MissingSessionCookie, OriginRefused, RepeatedCookie
from authapi.web.addressing import request_scheme_in
from authapi.web.origins import is_allowed_origin

from .caller import peer, services
from .replies import NO_STORE, json_reply, no_content

# `__Secure-`: a browser keeps the cookie only if it was set with Secure from a secure
# origin (https, or http://localhost and 127.0.0.1 in development).
COOKIE = "__Secure-refresh_token"
# Sent with the browser endpoints only: never with the API's other requests.
COOKIE_PATH = "/api/v1/auth/browser"
CSRF_HEADER = "x-csrf-token"


async def login(body: dict[str, Any]) -> Response:
    """Start a browser session: the access token in the body, the refresh token in a cookie."""
    _require_allowed_origin()
    session = await services().browser.login(body["email"], body["password"], peer())
    return _session_reply(session)


async def refresh() -> Response:
    """Rotate the cookie's refresh token, given the session's CSRF token."""
    _require_allowed_origin()
    session = await services().browser.refresh(_cookie(), request.headers.get(CSRF_HEADER), peer())
    return _session_reply(session)


async def logout() -> Response:
    """End the cookie's session, given its CSRF token, and clear the cookie."""
    _require_allowed_origin()
    await services().browser.logout(_cookie(), request.headers.get(CSRF_HEADER))
    return _clear_cookie(no_content())


def _clear_cookie(response: Response) -> Response:
    response.delete_cookie(COOKIE, path=COOKIE_PATH, secure=True, httponly=True, samesite="strict")
    return response


def _require_allowed_origin() -> None:
    headers = request.headers
    listed = services().settings.cors_origins
    scheme = request_scheme_in(scope)
    if not is_allowed_origin(headers.get("origin"), scheme, headers.get("host"), listed):
        raise OriginRefused()


def _cookie() -> str:
    # Read from every Cookie header, pair by pair: `request.cookies` reads the first header
    # only and keeps the last of two pairs of one name, so a cookie planted by a sibling
    # subdomain would quietly win, or lose, against the session's.
    values = [
        value
        for header in request.headers.getlist("cookie")
        for pair in header.split(";")
        for name, value in cookie_parser(pair).items()
        if name == COOKIE
    ]
    if len(values) > 1:
        raise RepeatedCookie(
            COOKIE, {"Set-Cookie": _clear_cookie(Response()).headers["set-cookie"]}
        )
    if not values or not values[0]:
        raise MissingSessionCookie()
    return values[0]


def _session_reply(session: BrowserLogin) -> Response:
    pair = session.pair
    body = {
        "access_token": pair.access_token,
        "token_type": "bearer",
        "expires_in": pair.expires_in,
        "csrf_token": session.csrf_token,
    }
    response = json_reply(body, headers=NO_STORE)
    # The session's remaining absolute lifetime: rotation never extends it.
    response.set_cookie(
        COOKIE,
        pair.refresh_token,
        max_age=pair.refresh_expires_in,
        path=COOKIE_PATH,
        secure=True,
        httponly=True,
        samesite="strict",
    )
    return response


async def verify_mfa(body: dict[str, Any]) -> Response:
    """Finish a browser login with a code: only now is the session cookie set."""
    _require_allowed_origin()
    pair = await services().mfa_login.verify(
        body["mfa_token"], body["method"], body["code"], peer(), "browser"
    )
    return _session_reply(BrowserLogin(pair, services().codec.csrf_token(pair.session_id)))
