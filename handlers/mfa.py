"""Handlers for the `mfa` tag: TOTP factors, recovery codes, the login's second step, step-up."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from authapi.accounts import Login
from authapi.records import SessionKind, TotpFactor
from authapi.tokens import TokenPair

from .caller import caller_of, peer, services
from .replies import NO_STORE, json_reply, no_content, timestamp


async def enrol_totp(token_info: dict[str, Any]) -> Response:
    """Start a pending TOTP factor and show its secret, this once."""
    enrolment = await services().mfa.enrol(caller_of(token_info))
    body = {
        "factor_id": enrolment.factor_id,
        "secret": enrolment.secret,
        "otpauth_uri": enrolment.otpauth_uri,
    }
    return json_reply(body, 201, NO_STORE)


async def confirm_totp(
    factor_id: str, body: dict[str, Any], token_info: dict[str, Any]
) -> Response:
    """Verify a pending factor with its first code."""
    codes = await services().mfa.confirm(caller_of(token_info), factor_id, body["code"], peer())
    return json_reply({} if codes is None else {"recovery_codes": codes}, headers=NO_STORE)


async def list_factors(token_info: dict[str, Any]) -> Response:
    """List the caller's verified factors."""
    factors = await services().mfa.factors(caller_of(token_info))
    return json_reply({"factors": [_factor(f) for f in factors]}, headers=NO_STORE)


async def delete_factor(factor_id: str, token_info: dict[str, Any]) -> Response:
    """Remove one of the caller's factors."""
    await services().mfa.remove(caller_of(token_info), factor_id, peer())
    return no_content()


async def regenerate_recovery_codes(token_info: dict[str, Any]) -> Response:
    """Replace the caller's recovery codes."""
    codes = await services().mfa.regenerate_recovery_codes(caller_of(token_info), peer())
    return json_reply({"recovery_codes": codes}, headers=NO_STORE)


async def verify(body: dict[str, Any]) -> Response:
    """Finish a JSON login with a code or a passkey."""
    login = await second_step(body, "api")
    return json_reply({**tokens(login.pair), "device_token": login.device_token}, headers=NO_STORE)


async def second_step(body: dict[str, Any], kind: SessionKind) -> Login:
    """Finish a login of `kind` with what the body brings: a code, or a passkey's assertion."""
    return await services().mfa_login.verify(
        body["mfa_token"],
        body["method"],
        body.get("code"),
        peer(),
        kind,
        challenge_id=body.get("challenge_id"),
        credential=body.get("credential"),
    )


async def webauthn_options(body: dict[str, Any]) -> Response:
    """Hand out request options for the passkeys of the user an mfa_token is for."""
    options = await services().passkey_login.second_factor_options(body["mfa_token"], peer())
    return json_reply(
        {"challenge_id": options.challenge_id, "publicKey": options.public_key}, headers=NO_STORE
    )


async def reauthenticate(body: dict[str, Any], token_info: dict[str, Any]) -> Response:
    """Authenticate again within the caller's session, and hand out its new tokens."""
    caller = caller_of(token_info)
    pair = await services().step_up.reauthenticate(
        caller,
        peer(),
        password=body.get("password"),
        method=body.get("method"),
        code=body.get("code"),
    )
    answer: dict[str, Any] = {
        "access_token": pair.access_token,
        "token_type": "bearer",
        "expires_in": pair.expires_in,
    }
    # A browser session's refresh token stays in its cookie: the body never carries one.
    if caller.session.kind == "api":
        answer["refresh_token"] = pair.refresh_token
        answer["refresh_expires_in"] = pair.refresh_expires_in
    return json_reply(answer, headers=NO_STORE)


def tokens(pair: TokenPair) -> dict[str, Any]:
    """Render a token pair as the spec's TokenPair."""
    return {
        "access_token": pair.access_token,
        "refresh_token": pair.refresh_token,
        "token_type": "bearer",
        "expires_in": pair.expires_in,
        "refresh_expires_in": pair.refresh_expires_in,
    }


def _factor(factor: TotpFactor) -> dict[str, Any]:
    return {
        "id": factor.id,
        "type": "totp",
        "created_at": timestamp(factor.created_at),
        "last_used_at": timestamp(factor.last_used_at),
    }
