"""Handlers for the `auth` tag: register, login, refresh, logout."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from authapi.tokens import TokenPair

from .caller import caller_of, claims_of, peer, services
from .replies import NO_STORE, json_reply, no_content


async def register(body: dict[str, Any]) -> Response:
    """Create an account."""
    user = await services().accounts.register(body["email"], body["password"], peer())
    return json_reply({"id": user.id, "email": user.email, "message": "User registered"}, 201)


async def login(body: dict[str, Any]) -> Response:
    """Start a session and hand out its tokens."""
    login = await services().accounts.login(
        body["email"], body["password"], peer(), device_token=body.get("device_token")
    )
    return json_reply({**_tokens(login.pair), "device_token": login.device_token}, headers=NO_STORE)


async def refresh(body: dict[str, Any]) -> Response:
    """Rotate a refresh token."""
    pair = await services().sessions.refresh(body["refresh_token"], peer())
    return json_reply(_tokens(pair), headers=NO_STORE)


async def logout(token_info: dict[str, Any], body: dict[str, Any] | None = None) -> Response:
    """End the caller's session."""
    refresh_token = (body or {}).get("refresh_token")
    await services().sessions.logout(claims_of(token_info), refresh_token, peer())
    return no_content()


async def change_password(token_info: dict[str, Any], body: dict[str, Any]) -> Response:
    """Replace the caller's password, end their other sessions, renew their device token."""
    # A user with a second factor steps up first (RFC 9470): a stolen access token alone
    # must not be enough to take the account over. Asked here at once, before any hashing;
    # the store's change holds it against a second factor that comes meanwhile.
    caller = caller_of(token_info)
    await services().step_up.require_if_enrolled(caller)
    device_token = await services().accounts.change_password(
        caller, body["current_password"], body["new_password"], peer()
    )
    return json_reply({"device_token": device_token}, headers=NO_STORE)


async def logout_all(token_info: dict[str, Any]) -> Response:
    """End every session of the caller, this one included; renew their device token."""
    device_token = await services().sessions.logout_all(claims_of(token_info), peer())
    return json_reply({"device_token": device_token}, headers=NO_STORE)


def _tokens(pair: TokenPair) -> dict[str, Any]:
    return {
        "access_token": pair.access_token,
        "refresh_token": pair.refresh_token,
        "token_type": "bearer",
        "expires_in": pair.expires_in,
        "refresh_expires_in": pair.refresh_expires_in,
    }
