"""The settings tests run with: a fixed signing key and test-grade Argon2id and bcrypt."""

from __future__ import annotations

from typing import Any

from authapi.settings import Settings

SECRET = "test-secret-key-that-is-at-least-32-bytes-long"
# Argon2's least (8 KiB, one pass: some 50 µs a hash) and bcrypt's; production refuses both.
CHEAP_HASHING: dict[str, Any] = {
    "bcrypt_rounds": 4,
    "argon2_memory_kib": 8,
    "argon2_time_cost": 1,
    "argon2_parallelism": 1,
}

# Production refuses http:// passkey origins, the default included.
PRODUCTION_WEBAUTHN_ENV = {
    "WEBAUTHN_RP_ID": "example.com",
    "WEBAUTHN_ORIGINS": "https://auth.example.com",
}
PRODUCTION_WEBAUTHN: dict[str, Any] = {
    "webauthn_rp_id": "example.com",
    "webauthn_origins": ("https://auth.example.com",),
}


def settings_for(**overrides: Any) -> Settings:
    """Return the test settings (memory store unless told), with these fields changed."""
    return Settings(**{"jwt_secret_key": SECRET, **CHEAP_HASHING, **overrides})
