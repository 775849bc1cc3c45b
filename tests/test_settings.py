"""Settings: defaults, `.env` files, and the refusals that keep production safe."""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from authapi.envvars import declared
from authapi.errors import ConfigError
from authapi.settings import PLACEHOLDER_SECRET, Settings
from authapi.web.app import create_app
from tests.config import PRODUCTION_WEBAUTHN_ENV

STRONG = "s" * 48
METRICS_TOKEN = "m" * 32
# 32 bytes in base64: production requires MFA_ENCRYPTION_KEY.
MFA_KEY = "a2V5LWtleS1rZXkta2V5LWtleS1rZXkta2V5LWtleS0="
ROOT = Path(__file__).resolve().parent.parent
ENV_EXAMPLE = ROOT / ".env.example"
README = ROOT / "README.md"


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
        (
            {"JWT_SECRET_KEY": STRONG, "PASSWORD_HASH": "bcrypt", "BCRYPT_ROUNDS": "11"},
            "BCRYPT_ROUNDS",
        ),
        ({"JWT_SECRET_KEY": STRONG, "ARGON2_MEMORY_KIB": "19455"}, "ARGON2_MEMORY_KIB"),
        ({"JWT_SECRET_KEY": STRONG, "ARGON2_TIME_COST": "1"}, "ARGON2_TIME_COST"),
        ({"JWT_SECRET_KEY": STRONG, "CORS_ORIGINS": "*"}, "CORS_ORIGINS"),
        ({"JWT_SECRET_KEY": STRONG, "CORS_ORIGINS": "https://a.example,*"}, "CORS_ORIGINS"),
        ({"JWT_SECRET_KEY": STRONG, "JWT_PREVIOUS_SECRET_KEYS": "too-short"}, "JWT_PREVIOUS"),
        (
            {"JWT_SECRET_KEY": STRONG, "JWT_PREVIOUS_SECRET_KEYS": f"{'p' * 40},too-short"},
            "JWT_PREVIOUS_SECRET_KEYS",
        ),
        ({"JWT_SECRET_KEY": STRONG}, "METRICS_TOKEN"),
        ({"JWT_SECRET_KEY": STRONG, "METRICS_ENABLED": "true"}, "METRICS_TOKEN"),
    ],
)
def test_production_refuses_unsafe_values_naming_the_variable(
    environ: dict[str, str], variable: str
) -> None:
    with pytest.raises(ConfigError, match=variable) as refused:
        Settings.from_env({"APP_ENV": "production", **environ}, env_file=None)
    assert "too-short" not in str(refused.value)


def test_production_accepts_a_safe_configuration() -> None:
    safe = {
        "APP_ENV": "production",
        "JWT_SECRET_KEY": STRONG,
        "METRICS_TOKEN": METRICS_TOKEN,
        "MFA_ENCRYPTION_KEY": MFA_KEY,
        **PRODUCTION_WEBAUTHN_ENV,
    }
    settings = Settings.from_env(safe, None)
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
        ({"JWT_LEEWAY_SECONDS": "301"}, "JWT_LEEWAY_SECONDS"),
        ({"REFRESH_REUSE_GRACE_SECONDS": "61"}, "REFRESH_REUSE_GRACE_SECONDS"),
        ({"APP_ENV": "staging"}, "APP_ENV"),
        ({"LOG_LEVEL": "LOUD"}, "LOG_LEVEL"),
        ({"STORAGE_POOL_SIZE": "0"}, "STORAGE_POOL_SIZE"),
        ({"STORAGE_POOL_SIZE": "500"}, "STORAGE_POOL_SIZE"),
        ({"MAX_SESSIONS_PER_USER": "0"}, "MAX_SESSIONS_PER_USER"),
        ({"MAX_SESSIONS_PER_USER": "1001"}, "MAX_SESSIONS_PER_USER"),
        ({"MAX_TASKS_PER_USER": "0"}, "MAX_TASKS_PER_USER"),
        ({"MAX_TASKS_PER_USER": "1000001"}, "MAX_TASKS_PER_USER"),
        ({"MAX_TASKS_PER_USER": "lots"}, "MAX_TASKS_PER_USER"),
        ({"DEVICE_TOKEN_DAYS": "0"}, "DEVICE_TOKEN_DAYS"),
        ({"DEVICE_TOKEN_DAYS": "3651"}, "DEVICE_TOKEN_DAYS"),
        ({"DEVICE_TOKEN_DAYS": "1.5"}, "DEVICE_TOKEN_DAYS"),
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
    assert settings.device_token_days == 365
    assert settings.max_body_bytes == 64 * 1024
    assert settings.trusted_proxies == ()
    assert settings.max_sessions_per_user == 50
    assert settings.max_tasks_per_user == 10_000


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


@pytest.mark.parametrize("app_env", ["development", "production"])
def test_placeholder_secret_is_refused_in_every_environment(app_env: str) -> None:
    environ = {"APP_ENV": app_env, "JWT_SECRET_KEY": PLACEHOLDER_SECRET, "METRICS_TOKEN": "t"}
    with pytest.raises(ConfigError, match="JWT_SECRET_KEY"):
        Settings.from_env(environ, env_file=None)


@pytest.mark.parametrize("app_env", ["development", "production"])
def test_placeholder_is_refused_among_previous_secrets_in_every_environment(app_env: str) -> None:
    environ = {
        "APP_ENV": app_env,
        "JWT_SECRET_KEY": STRONG,
        "JWT_PREVIOUS_SECRET_KEYS": f"{'p' * 40},{PLACEHOLDER_SECRET}",
        "METRICS_TOKEN": "t",
    }
    with pytest.raises(ConfigError, match="JWT_PREVIOUS_SECRET_KEYS"):
        Settings.from_env(environ, env_file=None)


def test_env_example_copied_as_is_runs_on_a_random_key() -> None:
    # `cp .env.example .env && make run`: no shared placeholder, a per-process key instead.
    settings = Settings.from_env({}, env_file=ENV_EXAMPLE)
    assert settings.secret_is_ephemeral
    assert settings.jwt_secret_key != PLACEHOLDER_SECRET


@pytest.mark.parametrize("app_env", ["development", "production"])
@pytest.mark.parametrize("algorithm", ["HS256", "EdDSA"])
@pytest.mark.parametrize(
    ("environ", "variable"),
    [
        ({"JWT_SECRET_KEY": "secret"}, "JWT_SECRET_KEY"),
        ({"JWT_SECRET_KEY": "s" * 31}, "JWT_SECRET_KEY"),
        ({"JWT_SECRET_KEY": "é" * 15}, "JWT_SECRET_KEY"),  # 30 bytes in 15 characters
        ({"JWT_SECRET_KEY": STRONG, "JWT_PREVIOUS_SECRET_KEYS": "old-dev-key"}, "JWT_PREVIOUS"),
        (
            {"JWT_SECRET_KEY": STRONG, "JWT_PREVIOUS_SECRET_KEYS": f"{'p' * 40},{'q' * 31}"},
            "JWT_PREVIOUS_SECRET_KEYS",
        ),
    ],
    ids=["6-bytes", "31-bytes", "30-bytes-in-15-characters", "short-previous", "one-previous"],
)
def test_short_secret_is_refused_in_every_environment_naming_the_variable(
    environ: dict[str, str], variable: str, app_env: str, algorithm: str
) -> None:
    # A configured secret, whether or not the algorithm signs with it: only the key that
    # development makes up when none is set is exempt (and it is 64 bytes).
    base = {"APP_ENV": app_env, "JWT_ALGORITHM": algorithm, "METRICS_ENABLED": "false"}
    with pytest.raises(ConfigError, match=variable) as refused:
        Settings.from_env({**base, **environ}, env_file=None)
    assert "secret" not in str(refused.value).replace("SECRET", "")
    assert "32 bytes" in str(refused.value)


def test_secret_of_exactly_32_bytes_is_accepted_in_development() -> None:
    environ = {"JWT_SECRET_KEY": "s" * 32, "JWT_PREVIOUS_SECRET_KEYS": "p" * 32}
    settings = Settings.from_env(environ, env_file=None)
    assert not settings.secret_is_ephemeral
    assert settings.jwt_previous_secret_keys == ("p" * 32,)


PRODUCTION = {
    "APP_ENV": "production",
    "JWT_SECRET_KEY": STRONG,
    "METRICS_TOKEN": METRICS_TOKEN,
    "MFA_ENCRYPTION_KEY": MFA_KEY,
    **PRODUCTION_WEBAUTHN_ENV,
}


@pytest.mark.parametrize(
    ("environ", "variable"),
    [
        ({"METRICS_TOKEN": "t"}, "METRICS_TOKEN"),
        ({"METRICS_TOKEN": "m" * 31}, "METRICS_TOKEN"),
        ({"METRICS_TOKEN": "m" * 31, "METRICS_ENABLED": "false"}, "METRICS_TOKEN"),
        ({"CORS_ORIGINS": "http://app.example"}, "CORS_ORIGINS"),
        ({"CORS_ORIGINS": "https://app.example,HTTP://app.example:8080"}, "CORS_ORIGINS"),
        ({"CORS_ORIGINS": "http://localhost.evil.example"}, "CORS_ORIGINS"),
        ({"CORS_ORIGINS": "http://127.0.0.2"}, "CORS_ORIGINS"),
        ({"TRUSTED_PROXIES": "0.0.0.0/0"}, "TRUSTED_PROXIES"),
        ({"TRUSTED_PROXIES": "10.0.0.1,::/0"}, "TRUSTED_PROXIES"),
        ({"TRUSTED_PROXIES": "0.0.0.0/0,::/0"}, "TRUSTED_PROXIES"),
        ({"TRUSTED_PROXIES": "0.0.0.0/1,128.0.0.0/1"}, "TRUSTED_PROXIES"),
        ({"LOGIN_MAX_FAILURES": "0"}, "LOGIN_MAX_FAILURES"),
        ({"AUTH_RATE_LIMIT_PER_MINUTE": "0"}, "AUTH_RATE_LIMIT_PER_MINUTE"),
        ({"LOGIN_MAX_FAILURES_PER_ACCOUNT": "0"}, "LOGIN_MAX_FAILURES_PER_ACCOUNT"),
        ({"ACCESS_TOKEN_EXPIRE_MINUTES": "61"}, "ACCESS_TOKEN_EXPIRE_MINUTES"),
        ({"ACCESS_TOKEN_EXPIRE_MINUTES": "5256000"}, "ACCESS_TOKEN_EXPIRE_MINUTES"),
        ({"REFRESH_TOKEN_EXPIRE_DAYS": "91"}, "REFRESH_TOKEN_EXPIRE_DAYS"),
        ({"REFRESH_TOKEN_EXPIRE_DAYS": "36500"}, "REFRESH_TOKEN_EXPIRE_DAYS"),
        ({"WEBAUTHN_RP_ID": "localhost", "WEBAUTHN_ORIGINS": ""}, "WEBAUTHN_ORIGINS"),
        (
            {"WEBAUTHN_RP_ID": "localhost", "WEBAUTHN_ORIGINS": "http://localhost:8000"},
            "WEBAUTHN_ORIGINS",
        ),
        (
            {"WEBAUTHN_ORIGINS": "https://auth.example.com,http://auth.example.com"},
            "WEBAUTHN_ORIGINS",
        ),
    ],
)
def test_production_refuses_what_would_fail_open_naming_the_variable(
    environ: dict[str, str], variable: str
) -> None:
    with pytest.raises(ConfigError, match=f"^{variable} ") as refused:
        Settings.from_env({**PRODUCTION, **environ}, env_file=None)
    assert "m" * 31 not in str(refused.value)


@pytest.mark.parametrize(
    "environ",
    [
        {"METRICS_TOKEN": "m" * 32},
        {"CORS_ORIGINS": "https://app.example,http://localhost:5173"},
        {"CORS_ORIGINS": "http://127.0.0.1:8080,http://[::1]:3000,http://LOCALHOST"},
        {"TRUSTED_PROXIES": "10.0.0.0/8,fd00::/8"},
        {"LOGIN_MAX_FAILURES": "1", "LOGIN_MAX_FAILURES_PER_ACCOUNT": "1"},
        {"AUTH_RATE_LIMIT_PER_MINUTE": "1"},
        {"ACCESS_TOKEN_EXPIRE_MINUTES": "60", "REFRESH_TOKEN_EXPIRE_DAYS": "90"},
    ],
)
def test_production_accepts_values_at_its_limits(environ: dict[str, str]) -> None:
    assert Settings.from_env({**PRODUCTION, **environ}, env_file=None).is_production


def test_development_still_accepts_what_production_refuses() -> None:
    # The benchmarks and load tests switch limits off; a developer may keep long tokens.
    environ = {
        "APP_ENV": "development",
        "METRICS_TOKEN": "t",
        "CORS_ORIGINS": "http://app.example",
        "TRUSTED_PROXIES": "0.0.0.0/0,::/0",
        "LOGIN_MAX_FAILURES": "0",
        "AUTH_RATE_LIMIT_PER_MINUTE": "0",
        "LOGIN_MAX_FAILURES_PER_ACCOUNT": "0",
        "ACCESS_TOKEN_EXPIRE_MINUTES": "5256000",
        "REFRESH_TOKEN_EXPIRE_DAYS": "36500",
    }
    assert not Settings.from_env(environ, env_file=None).is_production


def startup_warnings(environ: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Build the app from `environ` and return the warnings it logged."""
    # The app's log handler writes to the stdout of the moment it is made: this buffer.
    stdout = io.StringIO()
    monkeypatch.setattr(sys, "stdout", stdout)
    create_app(Settings.from_env({"BCRYPT_ROUNDS": "12", **environ}, env_file=None))
    return [line for line in stdout.getvalue().splitlines() if '"level": "warning"' in line]


@pytest.mark.parametrize("environ", [{}, {"APP_ENV": ""}, {"APP_ENV": "  "}])
def test_unset_app_env_warns_at_startup_naming_it(
    environ: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    warnings = startup_warnings({"JWT_SECRET_KEY": STRONG, **environ}, monkeypatch)
    assert [line for line in warnings if "APP_ENV is not set" in line]


@pytest.mark.parametrize("app_env", ["development", "DEVELOPMENT", "production"])
def test_app_env_that_is_set_starts_without_that_warning(
    app_env: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    environ = {
        "APP_ENV": app_env,
        "JWT_SECRET_KEY": STRONG,
        "METRICS_TOKEN": METRICS_TOKEN,
        "MFA_ENCRYPTION_KEY": MFA_KEY,
        **PRODUCTION_WEBAUTHN_ENV,
    }
    warnings = startup_warnings(environ, monkeypatch)
    assert not [line for line in warnings if "APP_ENV" in line]


def test_make_run_serves_development_so_it_starts_as_before() -> None:
    dry_run = subprocess.run(
        ["make", "--dry-run", "--always-make", "--no-print-directory", "run"],
        cwd=ROOT,
        # Run from `make unit`, the outer make's flags would reach this one: none of them.
        env={k: v for k, v in os.environ.items() if k not in ("APP_ENV", "MAKEFLAGS", "MAKELEVEL")},
        capture_output=True,
        text=True,
        check=True,
    )
    (serve,) = [line for line in dry_run.stdout.splitlines() if "auth-api" in line]
    assert "APP_ENV=development " in serve


def test_production_may_switch_metrics_off_instead_of_setting_a_token() -> None:
    environ = {
        "APP_ENV": "production",
        "JWT_SECRET_KEY": STRONG,
        "METRICS_ENABLED": "false",
        "MFA_ENCRYPTION_KEY": MFA_KEY,
        **PRODUCTION_WEBAUTHN_ENV,
    }
    assert not Settings.from_env(environ, env_file=None).metrics_enabled


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("JWT_LEEWAY_SECONDS", "0"),
        ("JWT_LEEWAY_SECONDS", "300"),
        ("REFRESH_REUSE_GRACE_SECONDS", "0"),
        ("REFRESH_REUSE_GRACE_SECONDS", "60"),
        ("CLIENT_IPV6_PREFIX", "32"),
        ("CLIENT_IPV6_PREFIX", "128"),
        ("REQUEST_READ_TIMEOUT_SECONDS", "1"),
        ("REQUEST_READ_TIMEOUT_SECONDS", "300"),
    ],
)
def test_bounds_are_inclusive(variable: str, value: str) -> None:
    Settings.from_env({variable: value}, env_file=None)


@pytest.mark.parametrize(
    ("environ", "variable"),
    [
        ({"CLIENT_IPV6_PREFIX": "31"}, "CLIENT_IPV6_PREFIX"),
        ({"CLIENT_IPV6_PREFIX": "129"}, "CLIENT_IPV6_PREFIX"),
        ({"CLIENT_IPV6_PREFIX": "/64"}, "CLIENT_IPV6_PREFIX"),
        ({"REQUEST_READ_TIMEOUT_SECONDS": "0"}, "REQUEST_READ_TIMEOUT_SECONDS"),
        ({"REQUEST_READ_TIMEOUT_SECONDS": "301"}, "REQUEST_READ_TIMEOUT_SECONDS"),
        ({"TRUSTED_PROXIES": "10.0.0.1, proxy.internal"}, "TRUSTED_PROXIES"),
    ],
)
def test_edge_limits_are_refused_out_of_bounds_naming_the_variable(
    environ: dict[str, str], variable: str
) -> None:
    with pytest.raises(ConfigError, match=variable):
        Settings.from_env(environ, env_file=None)


def test_edge_limits_have_documented_defaults() -> None:
    settings = Settings.from_env({}, env_file=None)
    assert settings.client_ipv6_prefix == 64
    assert settings.request_read_timeout_seconds == 30


@pytest.mark.parametrize(
    ("environ", "named", "not_named"),
    [
        ({}, "JWT_SECRET_KEY", "JWT_PRIVATE_KEY"),
        ({"JWT_ALGORITHM": "EdDSA"}, "JWT_PRIVATE_KEY", "JWT_SECRET_KEY"),
        ({"JWT_ALGORITHM": "RS256"}, "JWT_PRIVATE_KEY", "JWT_SECRET_KEY"),
    ],
)
def test_warning_about_a_generated_key_names_the_variable_to_set(
    environ: dict[str, str], named: str, not_named: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The app's log handler writes to the stdout of the moment it is made: this buffer.
    stdout = io.StringIO()
    monkeypatch.setattr(sys, "stdout", stdout)
    create_app(Settings.from_env({**environ, "BCRYPT_ROUNDS": "12"}, env_file=None))
    (warning,) = [line for line in stdout.getvalue().splitlines() if "random key" in line]
    assert named in warning
    assert not_named not in warning


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
    production = {
        "APP_ENV": "production",
        "JWT_SECRET_KEY": STRONG,
        "METRICS_ENABLED": "false",
        "MFA_ENCRYPTION_KEY": MFA_KEY,
        **PRODUCTION_WEBAUTHN_ENV,
    }
    with pytest.raises(ConfigError, match="INTROSPECTION_CLIENTS"):
        Settings.from_env({**production, "INTROSPECTION_CLIENTS": "notes:short"}, None)
    accepted = Settings.from_env({**production, "INTROSPECTION_CLIENTS": "notes:" + "s" * 32}, None)
    assert accepted.introspection_clients == (("notes", "s" * 32),)


def declared_defaults() -> dict[str, str]:
    """Map every declared variable to its default, spelled as the environment spells it."""
    return {
        name: as_environment_text(default)
        for _, variable, default in declared(Settings)
        for name in variable.names
    }


def as_environment_text(value: object) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, tuple):
        return ",".join(map(str, value))
    return str(value)


def readme_defaults() -> dict[str, str]:
    section = README.read_text().split("## Configuration", 1)[1].split("\n## ", 1)[0]
    documented = {}
    for row in re.findall(r"^\| (`[A-Z0-9_]+`.*?) \|$", section, flags=re.MULTILINE):
        names, default = [cell.strip() for cell in row.split(" | ")][:2]
        # "empty", and "random ..." for a key that development makes up when none is set.
        text = "" if default == "empty" or default.startswith("random") else default.strip("`")
        for name in names.split(" / "):
            documented[name.strip("`")] = text
    return documented


def env_example_defaults() -> dict[str, str]:
    lines = ENV_EXAMPLE.read_text().splitlines()
    pairs = [line.split("=", 1) for line in lines if line and not line.startswith("#")]
    return {name: value for name, value in pairs}


def test_every_declared_setting_has_a_variable_of_its_own() -> None:
    names = [name for _, variable, _ in declared(Settings) for name in variable.names]
    assert len(names) == len(set(names))
    unread = {field for field in Settings.__dataclass_fields__} - {
        field for field, _, _ in declared(Settings)
    }
    assert unread == {"secret_is_ephemeral", "app_env_is_default", "mfa_key_is_ephemeral"}


def test_readme_table_lists_exactly_the_declared_settings_with_their_defaults() -> None:
    assert readme_defaults() == declared_defaults()


def test_env_example_lists_exactly_the_declared_settings_with_their_defaults() -> None:
    assert env_example_defaults() == declared_defaults()


RP, ORIGINS = "WEBAUTHN_RP_ID", "WEBAUTHN_ORIGINS"


@pytest.mark.parametrize("app_env", ["development", "production"])
@pytest.mark.parametrize(
    ("environ", "variable"),
    [
        ({"WEBAUTHN_ORIGINS": "https://auth.example.com,https://evil.example"}, "WEBAUTHN_RP_ID"),
        ({"WEBAUTHN_RP_ID": "auth.example.com", "WEBAUTHN_ORIGINS": "https://example.com"}, RP),
        ({"WEBAUTHN_RP_ID": "ample.com", "WEBAUTHN_ORIGINS": "https://example.com"}, RP),
        ({"WEBAUTHN_RP_ID": "co.uk", "WEBAUTHN_ORIGINS": "https://example.co.uk"}, RP),
        ({"WEBAUTHN_RP_ID": "127.0.0.1", "WEBAUTHN_ORIGINS": "http://127.0.0.1:8000"}, ORIGINS),
        ({"WEBAUTHN_ORIGINS": "http://auth.example.com"}, ORIGINS),
        ({"WEBAUTHN_RP_ID": "https://example.com"}, RP),
        ({"WEBAUTHN_ORIGINS": "https://auth.example.com/login"}, ORIGINS),
        ({"WEBAUTHN_ORIGINS": "auth.example.com"}, ORIGINS),
    ],
)
def test_passkey_rp_id_must_cover_every_origin_in_every_environment(
    environ: dict[str, str], variable: str, app_env: str
) -> None:
    with pytest.raises(ConfigError, match=f"^{variable} "):
        Settings.from_env({**PRODUCTION, "APP_ENV": app_env, **environ}, env_file=None)


@pytest.mark.parametrize(
    ("environ", "allowed"),
    [
        (
            {"WEBAUTHN_ORIGINS": "https://Auth.Example.com:443/,https://example.com:8443"},
            {"https://auth.example.com", "https://example.com:8443"},
        ),
        (
            {"APP_ENV": "development", "WEBAUTHN_RP_ID": "", "WEBAUTHN_ORIGINS": ""},
            {"http://localhost:8000"},
        ),
    ],
)
def test_passkey_origins_are_compared_as_browsers_write_them(
    environ: dict[str, str], allowed: set[str]
) -> None:
    settings = Settings.from_env({**PRODUCTION, **environ}, env_file=None)
    assert settings.webauthn_allowed_origins == allowed
