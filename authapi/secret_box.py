"""Secrets at rest: AES-256-GCM for TOTP secrets, HMAC-SHA256 for recovery codes.

Both are keyed from MFA_ENCRYPTION_KEY. A sealed secret names the key that sealed it (the
first 4 bytes of the key's SHA-256), so MFA_PREVIOUS_ENCRYPTION_KEYS can still open what an
older key sealed while new secrets are sealed under the current one. The factor's id is the
associated data: a sealed secret copied onto another factor's row does not open.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

NONCE_BYTES = 12
KEY_ID_BYTES = 4
# Recovery codes are MACed under a key of their own, derived from each encryption key.
_RECOVERY_LABEL = b"authapi recovery codes v1"


class SecretUnreadable(Exception):
    """A sealed secret that no configured key opens: a lost or rotated-out key."""


class SecretBox:
    """Seal and open TOTP secrets, and MAC recovery codes, under the MFA keys."""

    def __init__(self, keys: tuple[bytes, ...]) -> None:
        self._keys = {_key_id(key): AESGCM(key) for key in keys}
        self._current = _key_id(keys[0])
        self._mac_keys = tuple(
            hmac.new(key, _RECOVERY_LABEL, hashlib.sha256).digest() for key in keys
        )

    def seal(self, secret: bytes, context: str) -> str:
        """Encrypt `secret` for the record named `context`; return text fit for any store."""
        nonce = os.urandom(NONCE_BYTES)
        sealed = self._keys[self._current].encrypt(nonce, secret, context.encode())
        return base64.b64encode(self._current + nonce + sealed).decode()

    def open(self, sealed: str, context: str) -> bytes:
        """Decrypt what `seal` returned for the same `context`, or raise `SecretUnreadable`."""
        try:
            raw = base64.b64decode(sealed, validate=True)
        except (binascii.Error, ValueError):
            raise SecretUnreadable() from None
        key_id, nonce = raw[:KEY_ID_BYTES], raw[KEY_ID_BYTES : KEY_ID_BYTES + NONCE_BYTES]
        box = self._keys.get(key_id)
        if box is None:
            raise SecretUnreadable()
        try:
            return box.decrypt(nonce, raw[KEY_ID_BYTES + NONCE_BYTES :], context.encode())
        except InvalidTag:
            raise SecretUnreadable() from None

    def macs(self, code: str) -> tuple[str, ...]:
        """Return the stored forms of a recovery code: the current key's first, then older ones."""
        return tuple(
            hmac.new(key, code.encode(), hashlib.sha256).hexdigest() for key in self._mac_keys
        )


def _key_id(key: bytes) -> bytes:
    return hashlib.sha256(key).digest()[:KEY_ID_BYTES]
