"""Device tokens: proof that a device has logged in to an account before (OWASP device cookies).

A successful password login hands its device a token naming the account, a device id, the
account's credential version and an expiry, signed with a key derived from the signing key.
A later login that presents it is counted per device instead of under the account's ceiling,
so strangers spending that ceiling never lock the owner out of a new network.

Anything that is not a valid token of this account, now, counts as no token: another
account's, a forged, an expired or a stale one (a password change or a logout-all bumped the
version since), an oversized or malformed one. None of it is an error, and recognizing costs
the same whether or not the account exists.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass

from authapi.records import User

# Issued tokens are about 130 bytes; anything longer is not one of ours, and is never parsed.
MAX_DEVICE_TOKEN_BYTES = 512
_VERSION = "dt1"
# Every part is ASCII without dots, and every number short enough to parse in bounded time.
_SHAPE = re.compile(
    r"dt1\.(?P<user>[0-9A-Za-z-]{1,64})\.(?P<device>[A-Za-z0-9_-]{22})"
    r"\.(?P<version>[0-9]{1,19})\.(?P<expires>[0-9]{1,19})\.(?P<mac>[A-Za-z0-9_-]{43})"
)


@dataclass(frozen=True)
class Device:
    """What a valid device token says: whose device it is, and which."""

    user_id: str
    device_id: str
    credential_version: int
    expires_at: int


class DeviceTokens:
    """Issue device tokens, and recognize one presented for an account."""

    def __init__(self, keys: tuple[bytes, ...], ttl_seconds: int) -> None:
        # The first key signs; every one recognizes, so an HMAC secret's rotation keeps devices.
        self.keys = keys
        self.ttl_seconds = ttl_seconds

    def issue(
        self, user_id: str, credential_version: int, now: int, device_id: str | None = None
    ) -> str:
        """Sign a device token for `device_id` (a new device when None) at this version."""
        device = Device(
            user_id,
            device_id or secrets.token_urlsafe(16),
            credential_version,
            now + self.ttl_seconds,
        )
        body = _body(device)
        return f"{body}.{_mac(self.keys[0], body)}"

    def recognize(self, token: str | None, user: User | None, now: int) -> str | None:
        """Return the device id of a valid token of `user`'s, or None for anything else."""
        device = self._verify(token)
        # `user` is None for an unknown email: the token was verified all the same, so the
        # time taken does not tell whether the account exists.
        if (
            device is None
            or user is None
            or device.user_id != user.id
            or device.credential_version != user.credential_version
            or now >= device.expires_at
        ):
            return None
        return device.device_id

    def _verify(self, token: str | None) -> Device | None:
        if not isinstance(token, str) or len(token) > MAX_DEVICE_TOKEN_BYTES:
            return None
        shape = _SHAPE.fullmatch(token)
        if shape is None:
            return None
        device = Device(
            shape["user"], shape["device"], int(shape["version"]), int(shape["expires"])
        )
        # Bytes, not str: compare_digest refuses non-ASCII text (the shape admits none anyway).
        presented = shape["mac"].encode()
        # Signed as presented, so that no other spelling of the same values (a leading zero)
        # is a token too.
        body = token[: shape.start("mac") - 1]
        if not any(hmac.compare_digest(_mac(key, body).encode(), presented) for key in self.keys):
            return None
        return device


def _body(device: Device) -> str:
    return ".".join(
        (
            _VERSION,
            device.user_id,
            device.device_id,
            str(device.credential_version),
            str(device.expires_at),
        )
    )


def _mac(key: bytes, body: str) -> str:
    digest = hmac.new(key, body.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
