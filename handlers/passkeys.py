"""Handlers for the `passkeys` tag: add, list, rename and remove passkeys, and log in with one."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from authapi.passkeys import Options
from authapi.records import Passkey

from .caller import caller_of, peer, services
from .mfa import tokens
from .replies import NO_STORE, json_reply, no_content, timestamp


async def registration_options(token_info: dict[str, Any]) -> Response:
    """Hand out creation options for a new passkey of the caller's."""
    options = await services().passkeys.registration_options(caller_of(token_info))
    return json_reply(options_body(options), headers=NO_STORE)


async def register(body: dict[str, Any], token_info: dict[str, Any]) -> Response:
    """Keep the passkey the caller's authenticator just created."""
    passkey = await services().passkeys.register(
        caller_of(token_info), body["challenge_id"], body["credential"], body.get("name"), peer()
    )
    created = {"id": passkey.id, "name": passkey.name, "created_at": timestamp(passkey.created_at)}
    return json_reply(created, 201, NO_STORE)


async def list_passkeys(token_info: dict[str, Any]) -> Response:
    """List the caller's passkeys."""
    passkeys = await services().passkeys.passkeys(caller_of(token_info))
    return json_reply({"passkeys": [_passkey(p) for p in passkeys]}, headers=NO_STORE)


async def rename_passkey(
    passkey_id: str, body: dict[str, Any], token_info: dict[str, Any]
) -> Response:
    """Rename one of the caller's passkeys."""
    passkey = await services().passkeys.rename(caller_of(token_info), passkey_id, body["name"])
    return json_reply(_passkey(passkey), headers=NO_STORE)


async def delete_passkey(passkey_id: str, token_info: dict[str, Any]) -> Response:
    """Remove one of the caller's passkeys."""
    await services().passkeys.remove(caller_of(token_info), passkey_id, peer())
    return no_content()


async def authentication_options() -> Response:
    """Hand out request options for a passkey login."""
    options = await services().passkey_login.login_options(peer())
    return json_reply(options_body(options), headers=NO_STORE)


async def authenticate(body: dict[str, Any]) -> Response:
    """Log in with a passkey and hand out the session's tokens."""
    login = await services().passkey_login.login(
        body["challenge_id"], body["credential"], peer(), "api"
    )
    return json_reply({**tokens(login.pair), "device_token": login.device_token}, headers=NO_STORE)


def options_body(options: Options) -> dict[str, Any]:
    """Render WebAuthn options as the spec's `{challenge_id, publicKey}`."""
    return {"challenge_id": options.challenge_id, "publicKey": options.public_key}


def _passkey(passkey: Passkey) -> dict[str, Any]:
    return {
        "id": passkey.id,
        "name": passkey.name,
        "created_at": timestamp(passkey.created_at),
        "last_used_at": timestamp(passkey.last_used_at),
        "backed_up": passkey.backed_up,
    }
