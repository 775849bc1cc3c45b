"""The settings tests run with: a fixed signing key and test-grade bcrypt."""

from __future__ import annotations

from typing import Any

from authapi.settings import Settings

SECRET = "test-secret-key-that-is-at-least-32-bytes-long"


def settings_for(**overrides: Any) -> Settings:
    """Return the test settings (memory store unless told), with these fields changed."""
    return Settings(**{"jwt_secret_key": SECRET, "bcrypt_rounds": 4, **overrides})
