"""A person's passkeys, kept by a software authenticator, and the passkey calls of the features.

The authenticator writes into every answer the origin of the page it pretends to serve, and
signs for the RP ID that page belongs to: the server the features start lists that origin in
WEBAUTHN_ORIGINS. Against a deployment, `-D webauthn_origin=https://app.example.com` names
one of its origins instead (its RP ID must be that origin's host or a suffix of it).
"""

from __future__ import annotations

from typing import Any

import requests
from behave.runner import Context

from features.support.auth_api import API
from features.support.authenticator import call
from features.support.people import Person
from tooling.soft_authenticator import SoftAuthenticator

AUTH = f"{API}/auth"
PASSKEYS = f"{AUTH}/passkeys"
# The page the features' "browser" is on, and the RP ID it signs for.
PASSKEY_ORIGIN = "http://localhost:8000"
PASSKEY_RP_ID = "localhost"


def passkey_origin(context: Context) -> str:
    """Return the origin the authenticator claims: the started server's, or a deployment's."""
    origin: str = context.config.userdata.get("webauthn_origin", PASSKEY_ORIGIN)
    return origin


def device_of(context: Context, someone: Person) -> SoftAuthenticator:
    """Return the authenticator that keeps her passkeys, the same one all scenario long."""
    devices: dict[str, SoftAuthenticator] = context.passkey_devices
    if someone.name not in devices:
        devices[someone.name] = SoftAuthenticator(origin=passkey_origin(context))
    return devices[someone.name]


def add_passkey(context: Context, someone: Person, name: str) -> requests.Response:
    """Ask for creation options with her access token, create a passkey and send it back."""
    access = someone.session.access
    options = call(context, "POST", f"{PASSKEYS}/registration/options", access_token=access)
    if options.status_code != 200:
        return options
    credential = device_of(context, someone).create(options.json())
    body = {"challenge_id": options.json()["challenge_id"], "credential": credential, "name": name}
    return call(context, "POST", f"{PASSKEYS}/registration/verify", body, access)


def sign_in(context: Context, someone: Person, **lie: Any) -> requests.Response:
    """Sign in with her passkey alone: the options, her authenticator's assertion, the verify.

    `lie` passes on to the authenticator (flags=..., say) for an assertion that should fail.
    """
    options = call(context, "POST", f"{PASSKEYS}/authentication/options")
    assert options.status_code == 200, options.text
    credential = device_of(context, someone).get(options.json(), **lie)
    body = {"challenge_id": options.json()["challenge_id"], "credential": credential}
    return call(context, "POST", f"{PASSKEYS}/authentication/verify", body)


def answer_second_factor(context: Context, someone: Person, mfa_token: str) -> requests.Response:
    """Answer a login's second-factor challenge with her passkey."""
    options = call(context, "POST", f"{AUTH}/mfa/webauthn/options", {"mfa_token": mfa_token})
    assert options.status_code == 200, options.text
    credential = device_of(context, someone).get(options.json())
    body = {
        "mfa_token": mfa_token,
        "method": "webauthn",
        "challenge_id": options.json()["challenge_id"],
        "credential": credential,
    }
    return call(context, "POST", f"{AUTH}/mfa/verify", body)


def listed_passkeys(context: Context, someone: Person) -> list[dict[str, Any]]:
    """Read her passkeys as the API lists them."""
    listed = call(context, "GET", PASSKEYS, access_token=someone.session.access)
    assert listed.status_code == 200, listed.text
    passkeys: list[dict[str, Any]] = listed.json()["passkeys"]
    return passkeys
