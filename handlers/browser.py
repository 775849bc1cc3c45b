"""Handlers for the `browser` tag: sessions whose refresh token lives in an HttpOnly cookie."""

from __future__ import annotations

from typing import Any

from connexion import request
from connexion.context import scope
from starlette.datastructures import MutableHeaders
from starlette.requests import cookie_parser
from starlette.responses import Response

from authapi.browser import BrowserLogin
from authapi.errors import MissingSessionCookie, OriginRefused, RepeatedCookie
from authapi.web.addressing import request_scheme_in
from authapi.web.origins import is_allowed_origin

from .caller import peer, services
from .mfa import second_step
from .replies import NO_STORE, json_reply, no_content

# `__Secure-`: a browser keeps the cookie only if it was set with Secure from a secure
# origin (https, or http://localhost and 127.0.0.1 in development).
COOKIE = "__Secure-refresh_token"
# The device token (authapi/devices.py): it outlives sessions, and a logout leaves it.
DEVICE_COOKIE = "__Secure-device_token"
# Sent with the browser endpoints only: never with the API's other requests.
COOKIE_PATH = "/api/v1/auth/browser"
CSRF_HEADER = "x-csrf-token"


async def login(body: dict[str, Any]) -> Response:
    """Start a browser session: the access token in the body, the refresh token in a cookie."""
    _require_allowed_origin()
    device_token = _cookie_once(DEVICE_COOKIE)
    session = await services().browser.login(body["email"], body["password"], peer(), device_token)
    return _session_reply(session)


async def refresh() -> Response:
    """Rotate the cookie's refresh token, given the session's CSRF token."""
    _require_allowed_origin()
    session = await services().browser.refresh(_cookie(), request.headers.get(CSRF_HEADER), peer())
    return _session_reply(session)


async def logout() -> Response:
    """End the cookie's session, given its CSRF token, and clear the cookie."""
    _require_allowed_origin()
    await services().browser.logout(_cookie(), request.headers.get(CSRF_HEADER), peer())
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
    value = _cookie_once(COOKIE)
    if not value:
        raise MissingSessionCookie()
    return value


def _cookie_once(wanted: str) -> str | None:
    # Read from every Cookie header, pair by pair: `request.cookies` reads the first header
    # only and keeps the last of two pairs of one name, so a cookie planted by a sibling
    # subdomain would quietly win, or lose, against the browser's own.
    values = [
        value
        for header in request.headers.getlist("cookie")
        for pair in header.split(";")
        for name, value in cookie_parser(pair).items()
        if name == wanted
    ]
    if len(values) > 1:
        raise RepeatedCookie(wanted, _clearing_both())
    return values[0] if values else None


def _clearing_both() -> MutableHeaders:
    # Both cookies, each as it was set: either may be the planted one's twin.
    cleared = _clear_cookie(Response())
    cleared.delete_cookie(
        DEVICE_COOKIE, path=COOKIE_PATH, secure=True, httponly=True, samesite="strict"
    )
    headers = MutableHeaders()
    for value in cleared.headers.getlist("set-cookie"):
        headers.append("Set-Cookie", value)
    return headers


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
    if session.device_token is not None:
        response.set_cookie(
            DEVICE_COOKIE,
            session.device_token,
            max_age=services().settings.device_ttl_seconds,
            path=COOKIE_PATH,
            secure=True,
            httponly=True,
            samesite="strict",
        )
    return response


async def verify_mfa(body: dict[str, Any]) -> Response:
    """Finish a browser login with a code or a passkey: only now is the session cookie set."""
    _require_allowed_origin()
    login = await second_step(body, "browser")
    csrf_token = services().codec.csrf_token(login.pair.session_id)
    return _session_reply(BrowserLogin(login.pair, csrf_token, login.device_token))


async def verify_passkey(body: dict[str, Any]) -> Response:
    """Log a browser in with a passkey: the refresh token in a cookie, as a browser login."""
    _require_allowed_origin()
    login = await services().passkey_login.login(
        body["challenge_id"], body["credential"], peer(), "browser"
    )
    csrf_token = services().codec.csrf_token(login.pair.session_id)
    return _session_reply(BrowserLogin(login.pair, csrf_token, login.device_token))
