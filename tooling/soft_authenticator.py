"""A software WebAuthn authenticator for the tests and the features: ES256 keys, "none"
attestation, authenticator data built byte by byte.

It answers the server's options JSON (`publicKey` of `{challenge_id, publicKey}`) with the
JSON a browser's `credential.toJSON()` gives, so a test speaks to the API exactly as a page
does. Every answer can be made to lie (origin, RP ID, flags, counter, user handle, signature),
which is what the security tests are about.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from fido2 import cbor

# Authenticator data flags (WebAuthn §6.1).
UP = 0x01  # user present
UV = 0x04  # user verified
BE = 0x08  # backup eligible
BS = 0x10  # backed up
AT = 0x40  # attested credential data included
# What a platform authenticator with a screen lock sets on every ceremony.
DEFAULT_FLAGS = UP | UV
# The AAGUID this authenticator reports: fixed, so tests can see it stored.
SOFT_AAGUID = bytes.fromhex("5f0f7a9e1c2d4b3a8e6f0a1b2c3d4e5f")
ES256_ALGORITHM = -7


def b64url(data: bytes) -> str:
    """Encode bytes as unpadded base64url, as the WebAuthn JSON forms do."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64url(text: str) -> bytes:
    """Decode unpadded base64url."""
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass
class SoftCredential:
    """One discoverable credential: its key pair, the RP it belongs to and its counter."""

    credential_id: bytes
    private_key: ec.EllipticCurvePrivateKey
    rp_id: str
    user_handle: bytes
    sign_count: int = 0

    @property
    def id(self) -> str:
        """Return the credential id as the JSON forms write it."""
        return b64url(self.credential_id)


@dataclass
class SoftAuthenticator:
    """Create and use passkeys the way a browser and a platform authenticator would.

    `origin` is what the "browser" writes into clientDataJSON; `counter_step` is how much the
    sign counter grows per assertion (0 for a synced passkey, which always reports 0).
    """

    origin: str = "http://localhost:8000"
    counter_step: int = 1
    backup_eligible: bool = False
    backed_up: bool = False
    credentials: dict[bytes, SoftCredential] = field(default_factory=dict)

    def create(
        self,
        options: Mapping[str, Any],
        *,
        origin: str | None = None,
        rp_id: str | None = None,
        flags: int | None = None,
        credential_id: bytes | None = None,
        challenge: str | None = None,
        client_type: str = "webauthn.create",
    ) -> dict[str, Any]:
        """Answer creation options with a new credential in `credential.toJSON()` form.

        `rp_id` overrides the RP the authenticator believes it serves (its rpIdHash), and
        `credential_id` reuses an id (a duplicate across users).
        """
        public_key = _public_key_options(options)
        served_rp = rp_id or public_key["rp"].get("id") or "localhost"
        credential = SoftCredential(
            credential_id=credential_id or os.urandom(32),
            private_key=ec.generate_private_key(ec.SECP256R1()),
            rp_id=served_rp,
            user_handle=unb64url(public_key["user"]["id"]),
        )
        attested = (
            SOFT_AAGUID
            + len(credential.credential_id).to_bytes(2, "big")
            + credential.credential_id
            + cbor.encode(_cose_es256(credential.private_key.public_key()))
        )
        auth_data = self._authenticator_data(
            served_rp, self._flags(flags) | AT, credential.sign_count, attested
        )
        client_data = _client_data(
            client_type, challenge or public_key["challenge"], origin or self.origin
        )
        attestation_object = cbor.encode({"fmt": "none", "attStmt": {}, "authData": auth_data})
        self.credentials[credential.credential_id] = credential
        return {
            "id": credential.id,
            "rawId": credential.id,
            "type": "public-key",
            "response": {
                "clientDataJSON": b64url(client_data),
                "attestationObject": b64url(attestation_object),
                "transports": ["internal"],
                "publicKeyAlgorithm": ES256_ALGORITHM,
            },
            "clientExtensionResults": {},
            "authenticatorAttachment": "platform",
        }

    def get(
        self,
        options: Mapping[str, Any],
        *,
        credential: SoftCredential | None = None,
        origin: str | None = None,
        rp_id: str | None = None,
        flags: int | None = None,
        counter: int | None = None,
        user_handle: bytes | None = None,
        omit_user_handle: bool = False,
        tamper_signature: bool = False,
        challenge: str | None = None,
        client_type: str = "webauthn.get",
    ) -> dict[str, Any]:
        """Answer request options with an assertion in `credential.toJSON()` form.

        Without `credential`, the first one allowed by `allowCredentials` (or, for a
        discoverable login, the newest for the RP) signs. `counter` replaces the counter the
        authenticator would report; `user_handle` replaces the handle it returns.
        """
        public_key = _public_key_options(options)
        chosen = credential or self._choose(public_key)
        if counter is None:
            chosen.sign_count += self.counter_step
            counter = chosen.sign_count
        auth_data = self._authenticator_data(
            rp_id or public_key.get("rpId") or chosen.rp_id, self._flags(flags), counter
        )
        client_data = _client_data(
            client_type, challenge or public_key["challenge"], origin or self.origin
        )
        signed = auth_data + hashlib.sha256(client_data).digest()
        signature = chosen.private_key.sign(signed, ec.ECDSA(hashes.SHA256()))
        if tamper_signature:
            # One flipped bit in the signed data: a signature over something else.
            signature = chosen.private_key.sign(
                bytes([signed[0] ^ 1]) + signed[1:], ec.ECDSA(hashes.SHA256())
            )
        response: dict[str, Any] = {
            "clientDataJSON": b64url(client_data),
            "authenticatorData": b64url(auth_data),
            "signature": b64url(signature),
        }
        if not omit_user_handle:
            response["userHandle"] = b64url(user_handle or chosen.user_handle)
        return {
            "id": chosen.id,
            "rawId": chosen.id,
            "type": "public-key",
            "response": response,
            "clientExtensionResults": {},
            "authenticatorAttachment": "platform",
        }

    @property
    def newest(self) -> SoftCredential:
        """Return the credential created last."""
        return list(self.credentials.values())[-1]

    def _choose(self, public_key: Mapping[str, Any]) -> SoftCredential:
        allowed = [unb64url(c["id"]) for c in public_key.get("allowCredentials") or ()]
        for credential_id in allowed:
            if credential_id in self.credentials:
                return self.credentials[credential_id]
        if allowed:
            raise LookupError("none of the allowed credentials is on this authenticator")
        rp_id = public_key.get("rpId")
        mine = [c for c in self.credentials.values() if rp_id in (None, c.rp_id)]
        if not mine:
            raise LookupError("no credential for this RP on this authenticator")
        return mine[-1]

    def _flags(self, flags: int | None) -> int:
        if flags is not None:
            return flags
        backup = (BE if self.backup_eligible else 0) | (BS if self.backed_up else 0)
        return DEFAULT_FLAGS | backup

    @staticmethod
    def _authenticator_data(rp_id: str, flags: int, counter: int, attested: bytes = b"") -> bytes:
        rp_id_hash = hashlib.sha256(rp_id.encode()).digest()
        return rp_id_hash + bytes([flags]) + counter.to_bytes(4, "big") + attested


def _public_key_options(options: Mapping[str, Any]) -> Mapping[str, Any]:
    # Either the server's whole answer ({challenge_id, publicKey}) or its publicKey member.
    inner = options.get("publicKey", options)
    assert isinstance(inner, Mapping)
    return inner


def _cose_es256(public_key: ec.EllipticCurvePublicKey) -> dict[int, int | bytes]:
    # RFC 9053: kty EC2 (2), alg ES256 (-7), crv P-256 (1), x and y.
    numbers = public_key.public_numbers()
    return {
        1: 2,
        3: ES256_ALGORITHM,
        -1: 1,
        -2: numbers.x.to_bytes(32, "big"),
        -3: numbers.y.to_bytes(32, "big"),
    }


def _client_data(client_type: str, challenge: str, origin: str) -> bytes:
    return json.dumps(
        {"type": client_type, "challenge": challenge, "origin": origin, "crossOrigin": False},
        separators=(",", ":"),
    ).encode()
