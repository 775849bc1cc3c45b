"""Settings: defaults, `.env` files, and the refusals that keep production safe."""

from __future__ import annotations

from pathlib import Path

import pytest

from authapi.errors import ConfigError
from authapi.settings import PLACEHOLDER_SECRET, Settings

STRONG = "s" * 48


def test_defaults_match_the_documented_values() -> None:
    settings = Settings.from_env({}, env_file=None)
    assert settings.access_token_expire_minutes == 15
    assert settings.refresh_token_expire_days == 7
    assert settings.jwt_leeway_seconds == 30
    assert settings.refresh_reuse_grace_seconds == 10
    assert settings.bcrypt_rounds == 12
    assert settings.password_min_length == 8
    assert settings.jwt_algorithm == "HS256"
    assert settings.app_env == "development"


def test_development_without_a_secret_gets_a_random_one() -> None:
    first = Settings.from_env({}, env_file=None)
    second = Settings.from_env({}, env_file=None)
    assert first.secret_is_ephemeral
    assert len(first.jwt_secret_key) >= 32
    assert first.jwt_secret_key != second.jwt_secret_key


def test_secret_never_appears_in_the_repr() -> None:
    assert STRONG not in repr(Settings(jwt_secret_key=STRONG))


def test_env_file_is_read_and_real_variables_win(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("BCRYPT_ROUNDS=10\nJWT_ISSUER=from-file\n")
    settings = Settings.from_env({"JWT_ISSUER": "from-env"}, env_file=env_file)
    assert settings.bcrypt_rounds == 10
    assert settings.jwt_issuer == "from-env"


def test_cors_origins_are_split_on_commas() -> None:
    settings = Settings.from_env({"CORS_ORIGINS": "https://a.example, https://b.example,"}, None)
    assert settings.cors_origins == ("https://a.example", "https://b.example")


@pytest.mark.parametrize(
    ("environ", "variable"),
    [
        ({}, "JWT_SECRET_KEY"),
        ({"JWT_SECRET_KEY": "too-short"}, "JWT_SECRET_KEY"),
        ({"JWT_SECRET_KEY": PLACEHOLDER_SECRET}, "JWT_SECRET_KEY"),
        ({"JWT_SECRET_KEY": STRONG, "BCRYPT_ROUNDS": "11"}, "BCRYPT_ROUNDS"),
        ({"JWT_SECRET_KEY": STRONG, "CORS_ORIGINS": "*"}, "CORS_ORIGINS"),
        ({"JWT_SECRET_KEY": STRONG, "CORS_ORIGINS": "https://a.example,*"}, "CORS_ORIGINS"),
    ],
)
def test_production_refuses_unsafe_values_naming_the_variable(
    environ: dict[str, str], variable: str
) -> None:
    with pytest.raises(ConfigError, match=variable) as refused:
        Settings.from_env({"APP_ENV": "production", **environ}, env_file=None)
    assert "too-short" not in str(refused.value)


def test_production_accepts_a_safe_configuration() -> None:
    settings = Settings.from_env({"APP_ENV": "production", "JWT_SECRET_KEY": STRONG}, None)
    assert settings.is_production
    assert not settings.secret_is_ephemeral


def test_development_allows_low_bcrypt_cost() -> None:
    assert Settings.from_env({"BCRYPT_ROUNDS": "4"}, env_file=None).bcrypt_rounds == 4


@pytest.mark.parametrize(
    ("environ", "variable"),
    [
        ({"BCRYPT_ROUNDS": "3"}, "BCRYPT_ROUNDS"),
        ({"BCRYPT_ROUNDS": "twelve"}, "BCRYPT_ROUNDS"),
        ({"PASSWORD_MIN_LENGTH": "6"}, "PASSWORD_MIN_LENGTH"),
        ({"JWT_ALGORITHM": "none"}, "JWT_ALGORITHM"),
        ({"ACCESS_TOKEN_EXPIRE_MINUTES": "0"}, "ACCESS_TOKEN_EXPIRE_MINUTES"),
        ({"REFRESH_TOKEN_EXPIRE_DAYS": "0"}, "REFRESH_TOKEN_EXPIRE_DAYS"),
        ({"JWT_LEEWAY_SECONDS": "-1"}, "JWT_LEEWAY_SECONDS"),
        ({"REFRESH_REUSE_GRACE_SECONDS": "-5"}, "REFRESH_REUSE_GRACE_SECONDS"),
        ({"APP_ENV": "staging"}, "APP_ENV"),
        ({"LOG_LEVEL": "LOUD"}, "LOG_LEVEL"),
        ({"STORAGE_POOL_SIZE": "0"}, "STORAGE_POOL_SIZE"),
        ({"STORAGE_POOL_SIZE": "500"}, "STORAGE_POOL_SIZE"),
    ],
)
def test_invalid_values_are_refused_naming_the_variable(
    environ: dict[str, str], variable: str
) -> None:
    with pytest.raises(ConfigError, match=variable):
        Settings.from_env(environ, env_file=None)


def test_abuse_limits_have_documented_defaults() -> None:
    settings = Settings.from_env({}, env_file=None)
    assert settings.login_max_failures == 5
    assert settings.login_failure_window_seconds == 900
    assert settings.auth_rate_limit_per_minute == 60
    assert settings.max_body_bytes == 64 * 1024
    assert settings.trusted_proxies == ()


@pytest.mark.parametrize(
    "environ",
    [
        {"LOGIN_MAX_FAILURES": "30", "LOGIN_FAILURE_WINDOW_SECONDS": "900"},
        {"LOGIN_MAX_FAILURES": "101", "LOGIN_FAILURE_WINDOW_SECONDS": "3600"},
        {"LOGIN_MAX_FAILURES": "2", "LOGIN_FAILURE_WINDOW_SECONDS": "60"},
    ],
)
def test_more_than_100_failures_per_hour_per_account_is_refused(environ: dict[str, str]) -> None:
    with pytest.raises(ConfigError, match="100 failed logins"):
        Settings.from_env(environ, env_file=None)


def test_lists_are_read_from_commas() -> None:
    settings = Settings.from_env({"TRUSTED_PROXIES": "10.0.0.1, 10.1.0.0/16"}, env_file=None)
    assert settings.trusted_proxies == ("10.0.0.1", "10.1.0.0/16")


def test_account_ceiling_defaults_to_50_an_hour_and_0_turns_it_off() -> None:
    assert Settings.from_env({}, env_file=None).login_max_failures_per_account == 50
    off = Settings.from_env({"LOGIN_MAX_FAILURES_PER_ACCOUNT": "0"}, env_file=None)
    assert off.login_max_failures_per_account == 0
    most = Settings.from_env({"LOGIN_MAX_FAILURES_PER_ACCOUNT": "100"}, env_file=None)
    assert most.login_max_failures_per_account == 100


@pytest.mark.parametrize("value", ["101", "-1", "fifty"])
def test_account_ceiling_beyond_100_failures_per_hour_is_refused(value: str) -> None:
    with pytest.raises(ConfigError, match="LOGIN_MAX_FAILURES_PER_ACCOUNT"):
        Settings.from_env({"LOGIN_MAX_FAILURES_PER_ACCOUNT": value}, env_file=None)


def test_introspection_clients_are_read_as_id_secret_pairs() -> None:
    settings = Settings.from_env(
        {"INTROSPECTION_CLIENTS": " notes:s3cret , billing:an0ther-secret "}, env_file=None
    )
    assert settings.introspection_clients == (("notes", "s3cret"), ("billing", "an0ther-secret"))
    assert "s3cret" not in repr(settings)


@pytest.mark.parametrize(
    "value",
    ["notes", "notes:", ":secret", "notes:a,notes:b", "notes:sécret", "notes:has space"],
)
def test_malformed_introspection_clients_are_refused_naming_the_variable(value: str) -> None:
    with pytest.raises(ConfigError, match="INTROSPECTION_CLIENTS") as refused:
        Settings.from_env({"INTROSPECTION_CLIENTS": value}, env_file=None)
    assert "secret" not in str(refused.value).replace("secrets", "").replace(":secret", "")


def test_production_wants_introspection_secrets_of_at_least_32_bytes() -> None:
    production = {"APP_ENV": "production", "JWT_SECRET_KEY": STRONG}
    with pytest.raises(ConfigError, match="INTROSPECTION_CLIENTS"):
        Settings.from_env({**production, "INTROSPECTION_CLIENTS": "notes:short"}, None)
    accepted = Settings.from_env({**production, "INTROSPECTION_CLIENTS": "notes:" + "s" * 32}, None)
    assert accepted.introspection_clients == (("notes", "s" * 32),)
