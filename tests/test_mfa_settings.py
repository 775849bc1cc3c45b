"""The MFA settings: a key production requires, development makes up, and bounds."""

from __future__ import annotations

import base64
import logging

import pytest

from authapi.errors import ConfigError
from authapi.settings import Settings
from tests.config import PRODUCTION_WEBAUTHN_ENV, settings_for

STRONG = "s" * 48
KEY = base64.b64encode(b"k" * 32).decode()
PRODUCTION = {
    "APP_ENV": "production",
    "JWT_SECRET_KEY": STRONG,
    "METRICS_TOKEN": "m" * 32,
    **PRODUCTION_WEBAUTHN_ENV,
}


def test_production_refuses_to_start_without_mfa_encryption_key() -> None:
    with pytest.raises(ConfigError) as refused:
        Settings.from_env(PRODUCTION, env_file=None)
    assert "MFA_ENCRYPTION_KEY" in str(refused.value)


def test_production_starts_with_a_key_and_uses_it_first() -> None:
    previous = base64.b64encode(b"p" * 32).decode()
    settings = Settings.from_env(
        {**PRODUCTION, "MFA_ENCRYPTION_KEY": KEY, "MFA_PREVIOUS_ENCRYPTION_KEYS": previous},
        env_file=None,
    )
    assert settings.mfa_keys == (b"k" * 32, b"p" * 32)
    assert not settings.mfa_key_is_ephemeral


def test_development_makes_up_a_random_key_per_process_and_says_so(
    caplog: pytest.LogCaptureFixture,
) -> None:
    first = Settings.from_env({"JWT_SECRET_KEY": STRONG}, env_file=None)
    second = Settings.from_env({"JWT_SECRET_KEY": STRONG}, env_file=None)
    assert first.mfa_key_is_ephemeral
    assert first.mfa_keys[0] != second.mfa_keys[0]
    from authapi.web.app import _warn_about_development_defaults

    with caplog.at_level(logging.WARNING):
        _warn_about_development_defaults(first)
    assert any("MFA_ENCRYPTION_KEY is not set" in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize(
    "key", ["short", base64.b64encode(b"k" * 31).decode(), base64.b64encode(b"k" * 33).decode()]
)
def test_a_key_that_is_not_32_bytes_of_base64_is_refused_without_repeating_it(key: str) -> None:
    with pytest.raises(ConfigError) as refused:
        Settings.from_env({"JWT_SECRET_KEY": STRONG, "MFA_ENCRYPTION_KEY": key}, env_file=None)
    assert "MFA_ENCRYPTION_KEY" in str(refused.value)
    assert key not in str(refused.value)


def test_a_bad_previous_key_is_refused() -> None:
    with pytest.raises(ConfigError) as refused:
        settings_for(mfa_previous_encryption_keys=("nope",))
    assert "MFA_PREVIOUS_ENCRYPTION_KEYS" in str(refused.value)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("step_up_max_age_seconds", 0),
        ("step_up_max_age_seconds", 86_401),
        ("mfa_max_failures", 0),
        ("mfa_failure_window_seconds", 0),
    ],
)
def test_mfa_limits_out_of_bounds_are_refused(field: str, value: int) -> None:
    with pytest.raises(ConfigError):
        settings_for(**{field: value})


def test_the_keys_never_appear_in_the_settings_repr() -> None:
    settings = settings_for(mfa_encryption_key=KEY)
    assert KEY not in repr(settings)
