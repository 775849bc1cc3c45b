"""Configuration, read once from the environment (and an optional `.env` file)."""

from __future__ import annotations

import os
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from dotenv import dotenv_values

from authapi.errors import ConfigError

# The value `.env.example` ships with; it must never sign a production token.
PLACEHOLDER_SECRET = "change-me-to-a-random-string-of-at-least-32-bytes"
SUPPORTED_ALGORITHMS = ("HS256", "HS384", "HS512")
MIN_SECRET_BYTES = 32
MIN_PRODUCTION_ROUNDS = 12
MAX_PASSWORD_LENGTH = 128
_STORAGE_URL = re.compile(r"^(memory://|sqlite:///.+|postgresql://[^/]+/\w+(\?.*)?)$")


@dataclass(frozen=True)
class Settings:
    """Everything the service can be configured with; build it with `from_env` or directly."""

    jwt_secret_key: str = field(repr=False)
    jwt_algorithm: str = "HS256"
    jwt_issuer: str = "auth-api"
    jwt_audience: str = "auth-api"
    access_token_expire_minutes: int = 15
    refresh_token_expire_days: int = 7
    jwt_leeway_seconds: int = 30
    refresh_reuse_grace_seconds: int = 10
    bcrypt_rounds: int = 12
    password_min_length: int = 8
    cors_origins: tuple[str, ...] = ()
    app_env: str = "development"
    log_level: str = "INFO"
    storage_url: str = "memory://"
    # True when no secret was configured and a random one stands in (development only).
    secret_is_ephemeral: bool = False

    def __post_init__(self) -> None:
        self._check()

    @property
    def is_production(self) -> bool:
        return self.app_env == "production"

    @property
    def is_shared_store(self) -> bool:
        """Tell whether several processes can share the configured store."""
        return not self.storage_url.startswith("memory://")

    @property
    def access_ttl_seconds(self) -> int:
        return self.access_token_expire_minutes * 60

    @property
    def refresh_ttl_seconds(self) -> int:
        return self.refresh_token_expire_days * 86400

    @classmethod
    def from_env(
        cls, environ: Mapping[str, str] | None = None, env_file: str | Path | None = ".env"
    ) -> Settings:
        """Build settings from the environment, letting real variables win over `.env`."""
        values: dict[str, str] = {}
        if env_file is not None and Path(env_file).is_file():
            values.update({k: v for k, v in dotenv_values(env_file).items() if v is not None})
        values.update(os.environ if environ is None else environ)
        return cls._from_values(values)

    @classmethod
    def _from_values(cls, values: Mapping[str, str]) -> Settings:
        app_env = values.get("APP_ENV", "development").strip().lower() or "development"
        secret = values.get("JWT_SECRET_KEY", "")
        ephemeral = False
        if not secret and app_env != "production":
            secret = secrets.token_urlsafe(48)
            ephemeral = True
        return cls(
            jwt_secret_key=secret,
            jwt_algorithm=values.get("JWT_ALGORITHM", "HS256").strip() or "HS256",
            jwt_issuer=values.get("JWT_ISSUER", "auth-api").strip() or "auth-api",
            jwt_audience=values.get("JWT_AUDIENCE", "auth-api").strip() or "auth-api",
            access_token_expire_minutes=_int(values, "ACCESS_TOKEN_EXPIRE_MINUTES", 15),
            refresh_token_expire_days=_int(values, "REFRESH_TOKEN_EXPIRE_DAYS", 7),
            jwt_leeway_seconds=_int(values, "JWT_LEEWAY_SECONDS", 30),
            refresh_reuse_grace_seconds=_int(values, "REFRESH_REUSE_GRACE_SECONDS", 10),
            bcrypt_rounds=_int(values, "BCRYPT_ROUNDS", 12),
            password_min_length=_int(values, "PASSWORD_MIN_LENGTH", 8),
            cors_origins=tuple(
                o.strip() for o in values.get("CORS_ORIGINS", "").split(",") if o.strip()
            ),
            app_env=app_env,
            log_level=values.get("LOG_LEVEL", "INFO").strip().upper() or "INFO",
            storage_url=values.get("STORAGE_URL", "memory://").strip() or "memory://",
            secret_is_ephemeral=ephemeral,
        )

    def _check(self) -> None:
        if self.app_env not in ("development", "production"):
            raise ConfigError("APP_ENV must be 'development' or 'production'.")
        if self.jwt_algorithm not in SUPPORTED_ALGORITHMS:
            raise ConfigError(f"JWT_ALGORITHM must be one of {', '.join(SUPPORTED_ALGORITHMS)}.")
        if not 4 <= self.bcrypt_rounds <= 31:
            raise ConfigError("BCRYPT_ROUNDS must be between 4 and 31.")
        if not 8 <= self.password_min_length <= MAX_PASSWORD_LENGTH:
            raise ConfigError(f"PASSWORD_MIN_LENGTH must be between 8 and {MAX_PASSWORD_LENGTH}.")
        for name, value in (
            ("ACCESS_TOKEN_EXPIRE_MINUTES", self.access_token_expire_minutes),
            ("REFRESH_TOKEN_EXPIRE_DAYS", self.refresh_token_expire_days),
        ):
            if value < 1:
                raise ConfigError(f"{name} must be at least 1.")
        for name, value in (
            ("JWT_LEEWAY_SECONDS", self.jwt_leeway_seconds),
            ("REFRESH_REUSE_GRACE_SECONDS", self.refresh_reuse_grace_seconds),
        ):
            if value < 0:
                raise ConfigError(f"{name} must not be negative.")
        if self.log_level not in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
            raise ConfigError("LOG_LEVEL must be DEBUG, INFO, WARNING, ERROR or CRITICAL.")
        if not _STORAGE_URL.match(self.storage_url):
            raise ConfigError(
                "STORAGE_URL must be memory://, sqlite:///path/to/file.db or "
                "postgresql://user@host:port/database."
            )
        if not self.jwt_secret_key:
            raise ConfigError("JWT_SECRET_KEY must be set.")
        if self.is_production:
            self._check_production()

    def _check_production(self) -> None:
        if self.jwt_secret_key == PLACEHOLDER_SECRET:
            raise ConfigError("JWT_SECRET_KEY is still the .env.example placeholder.")
        if len(self.jwt_secret_key.encode()) < MIN_SECRET_BYTES:
            raise ConfigError(f"JWT_SECRET_KEY must be at least {MIN_SECRET_BYTES} bytes.")
        if self.bcrypt_rounds < MIN_PRODUCTION_ROUNDS:
            raise ConfigError(
                f"BCRYPT_ROUNDS must be at least {MIN_PRODUCTION_ROUNDS} in production."
            )
        if "*" in self.cors_origins:
            raise ConfigError("CORS_ORIGINS must list explicit origins, not '*', in production.")


def _int(values: Mapping[str, str], name: str, default: int) -> int:
    raw = values.get(name, "").strip()
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number.") from None
