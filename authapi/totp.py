"""RFC 6238 time-based one-time passwords: SHA-1, 6 digits, 30-second steps, one step of drift.

Only the arithmetic lives here. Replay protection (a step is accepted once) is the store's
compare-and-set of `last_used_step`, and guessing limits are authapi/factor_check.py's.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Callable
from typing import Any
from urllib.parse import quote, urlencode

STEP_SECONDS = 30
DIGITS = 6
# t-1, t and t+1: a phone's clock a little off, or a code typed as it changed.
DRIFT_STEPS = 1
SECRET_BYTES = 20


def new_secret() -> bytes:
    """Return a fresh 160-bit secret, as RFC 4226 recommends for SHA-1."""
    return secrets.token_bytes(SECRET_BYTES)


def step_at(now: float) -> int:
    """Return the RFC 6238 time step `T` of a moment."""
    return int(now) // STEP_SECONDS


def code_at(
    secret: bytes,
    step: int,
    digits: int = DIGITS,
    digest: Callable[..., Any] = hashlib.sha1,
) -> str:
    """Return the code of time step `step` (RFC 4226 HOTP with the step as the counter)."""
    mac = hmac.new(secret, step.to_bytes(8, "big"), digest).digest()
    offset = mac[-1] & 0x0F
    number = int.from_bytes(mac[offset : offset + 4], "big") & 0x7FFFFFFF
    return str(number % 10**digits).zfill(digits)


def matching_step(secret: bytes, code: str, now: float) -> int | None:
    """Return the latest step within the drift whose code is `code`, or None.

    Every candidate is compared, in constant time, whichever matched.
    """
    offered = code.encode("utf-8", "replace")
    current = step_at(now)
    matched = None
    for step in range(current - DRIFT_STEPS, current + DRIFT_STEPS + 1):
        if hmac.compare_digest(code_at(secret, step).encode(), offered):
            matched = step
    return matched


def base32(secret: bytes) -> str:
    """Return the secret as authenticator apps take it: base32 without padding."""
    return base64.b32encode(secret).decode().rstrip("=")


def otpauth_uri(secret: bytes, account: str, issuer: str) -> str:
    """Return the `otpauth://` URI an authenticator app reads from a QR code."""
    label = quote(f"{issuer}:{account}", safe="@:")
    query = urlencode(
        {
            "secret": base32(secret),
            "issuer": issuer,
            "algorithm": "SHA1",
            "digits": DIGITS,
            "period": STEP_SECONDS,
        }
    )
    return f"otpauth://totp/{label}?{query}"
