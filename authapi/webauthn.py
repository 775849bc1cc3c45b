"""The WebAuthn relying party: options out, and the checks of what an authenticator answers.

python-fido2 (`fido2.server`) checks a ceremony's type, origin, challenge, RP ID hash, the
user-presence and user-verification flags and the signature, and parses "none" attestation.
What the library leaves to the relying party, the user handle of a discoverable login and
the sign counter, is authapi/passkeys.py's.

Nothing here logs: fido2 logs credential ids at INFO and DEBUG, so its logger is held at
WARNING, and no exception message carries a value from the credential.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import struct
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import UnsupportedAlgorithm
from fido2 import cbor
from fido2.cose import CoseKey, UnsupportedKey
from fido2.server import Fido2Server
from fido2.webauthn import (
    AttestationConveyancePreference,
    AttestedCredentialData,
    AuthenticationResponse,
    PublicKeyCredentialDescriptor,
    PublicKeyCredentialParameters,
    PublicKeyCredentialRpEntity,
    PublicKeyCredentialType,
    PublicKeyCredentialUserEntity,
    RegistrationResponse,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from authapi.settings import Settings

# Credential ids and challenges would otherwise reach the log at INFO and DEBUG.
logging.getLogger("fido2").setLevel(logging.WARNING)

# EdDSA, ES256 and RS256 (COSE ids), in the order the options list them.
ALGORITHMS = (-8, -7, -257)
CHALLENGE_SECONDS = 300
# WebAuthn §5.8.3: a credential id is at most 1,023 bytes.
MAX_CREDENTIAL_ID_BYTES = 1023
_REQUIRED = UserVerificationRequirement.REQUIRED
# What the library raises for a malformed or refused credential: a parse error or a check
# (found by fuzzing its input; deeply nested CBOR exhausts the recursion of its decoder).
_REFUSALS = (
    ValueError,
    TypeError,
    KeyError,
    IndexError,
    AttributeError,
    OverflowError,
    struct.error,
    RecursionError,
    UnsupportedAlgorithm,
)


class CeremonyRefused(Exception):
    """An authenticator's answer failed a check; `rule` names the check, never a value."""

    def __init__(self, rule: str) -> None:
        super().__init__(rule)
        self.rule = rule


@dataclass(frozen=True)
class NewCredential:
    """What a verified registration yields, ready to store (base64url where binary)."""

    credential_id: str
    public_key: str
    sign_count: int
    aaguid: str
    backed_up: bool


@dataclass(frozen=True)
class Assertion:
    """What a verified assertion yields for the checks that are ours."""

    sign_count: int
    backed_up: bool
    # None when the authenticator sent none (a non-discoverable credential may not).
    user_handle: str | None


def b64url(data: bytes) -> str:
    """Encode bytes as unpadded base64url, as the WebAuthn JSON forms do."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64url(text: str) -> bytes:
    """Decode unpadded base64url, or raise `CeremonyRefused`."""
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise CeremonyRefused("is not base64url") from None


class RelyingParty:
    """This service as a WebAuthn relying party: WEBAUTHN_RP_ID, its name, its origins."""

    def __init__(self, settings: Settings) -> None:
        origins = settings.webauthn_allowed_origins
        self.rp_id = settings.webauthn_rp_id
        self._server = Fido2Server(
            PublicKeyCredentialRpEntity(name=settings.webauthn_rp_name, id=self.rp_id),
            attestation=AttestationConveyancePreference.NONE,
            # Exactly the configured origins: not every subdomain the RP ID would allow.
            verify_origin=lambda origin: origin in origins,
        )
        self._server.allowed_algorithms = [
            PublicKeyCredentialParameters(type=PublicKeyCredentialType.PUBLIC_KEY, alg=alg)
            for alg in ALGORITHMS
        ]

    def creation_options(
        self, challenge: bytes, user_handle: bytes, email: str, exclude: list[str]
    ) -> dict[str, Any]:
        """Return creation options (`publicKey` of the JSON form) for a discoverable passkey."""
        options, _ = self._server.register_begin(
            PublicKeyCredentialUserEntity(name=email, id=user_handle, display_name=email),
            credentials=_descriptors(exclude),
            resident_key_requirement=ResidentKeyRequirement.REQUIRED,
            user_verification=_REQUIRED,
            challenge=challenge,
        )
        return _json(options)

    def request_options(self, challenge: bytes, allow: list[str] | None) -> dict[str, Any]:
        """Return request options: for a discoverable login without `allow`, else for these."""
        options, _ = self._server.authenticate_begin(
            credentials=None if allow is None else _descriptors(allow),
            user_verification=_REQUIRED,
            challenge=challenge,
        )
        return _json(options)

    def verify_registration(self, challenge: str, credential: Mapping[str, Any]) -> NewCredential:
        """Check a registration against its challenge; raise `CeremonyRefused` naming the check."""
        state = {"challenge": challenge, "user_verification": _REQUIRED}
        try:
            auth_data = self._server.register_complete(state, _registration(credential))
        except _REFUSALS as refused:
            raise CeremonyRefused(_rule(refused)) from None
        attested = auth_data.credential_data
        if attested is None:
            raise CeremonyRefused("carries no credential")
        if len(attested.credential_id) > MAX_CREDENTIAL_ID_BYTES:
            raise CeremonyRefused("has a credential id longer than 1023 bytes")
        key = attested.public_key
        if isinstance(key, UnsupportedKey) or key.ALGORITHM not in ALGORITHMS:
            raise CeremonyRefused("uses an algorithm other than EdDSA, ES256 or RS256")
        return NewCredential(
            credential_id=b64url(attested.credential_id),
            public_key=b64url(cbor.encode(dict(key))),
            sign_count=auth_data.counter,
            aaguid=str(attested.aaguid),
            backed_up=auth_data.is_backed_up(),
        )

    def verify_assertion(
        self, challenge: str, credential: Mapping[str, Any], credential_id: str, public_key: str
    ) -> Assertion:
        """Check an assertion against its challenge and the stored key of `credential_id`."""
        state = {"challenge": challenge, "user_verification": _REQUIRED}
        try:
            response = AuthenticationResponse.from_dict(credential)
            stored = AttestedCredentialData.create(
                bytes(16), unb64url(credential_id), _cose_key(public_key)
            )
            self._server.authenticate_complete(state, [stored], response)
        except _REFUSALS as refused:
            raise CeremonyRefused(_rule(refused)) from None
        auth_data = response.response.authenticator_data
        handle = response.response.user_handle
        return Assertion(
            sign_count=auth_data.counter,
            backed_up=auth_data.is_backed_up(),
            user_handle=None if handle is None else b64url(handle),
        )


def credential_id_of(credential: Mapping[str, Any]) -> str:
    """Return the credential id an answer names (its `rawId`, in canonical base64url)."""
    raw_id = credential.get("rawId")
    if not isinstance(raw_id, str) or credential.get("id") != raw_id:
        raise CeremonyRefused("id and rawId must be one credential id")
    return b64url(unb64url(raw_id))


def _cose_key(stored: str) -> CoseKey:
    decoded = cbor.decode(unb64url(stored))
    if not isinstance(decoded, Mapping):
        raise ValueError("stored key is no COSE key")
    return CoseKey.parse(decoded)


def _descriptors(credential_ids: list[str]) -> list[PublicKeyCredentialDescriptor]:
    return [
        PublicKeyCredentialDescriptor(
            type=PublicKeyCredentialType.PUBLIC_KEY, id=unb64url(credential_id)
        )
        for credential_id in credential_ids
    ]


def _registration(credential: Mapping[str, Any]) -> RegistrationResponse:
    return RegistrationResponse.from_dict(credential)


def _json(options: Any) -> dict[str, Any]:
    # Through JSON and back: plain strings where fido2 has its string enums.
    public_key: dict[str, Any] = json.loads(json.dumps(dict(options)["publicKey"]))
    return public_key


# fido2's refusals, as rules a client may read: its messages name the check, never a value.
_RULES = {
    "Incorrect type in CollectedClientData.": "is for another ceremony (clientDataJSON.type)",
    "Invalid origin in CollectedClientData.": "comes from an origin not in WEBAUTHN_ORIGINS",
    "Wrong challenge in response.": "answers another challenge",
    "Wrong RP ID hash in response.": "is for another relying party (RP ID hash)",
    "User Present flag not set.": "lacks user presence (UP flag)",
    "User verification required, but User Verified flag not set.": (
        "lacks user verification (UV flag)"
    ),
    "User verification required, but user verified flag not set.": (
        "lacks user verification (UV flag)"
    ),
    "Invalid signature.": "has a signature that does not verify",
    "Unknown credential ID.": "names another credential",
}


def _rule(refused: Exception) -> str:
    return _RULES.get(str(refused), "is malformed")
