"""Configuration, read once from the environment (and an optional `.env` file)."""

from __future__ import annotations

import ipaddress
import os
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from dotenv import dotenv_values

from authapi.errors import ConfigError

# The secret `.env.example` once shipped with: public, and still in copied `.env` files, so
# it is refused everywhere (`.env.example` now leaves JWT_SECRET_KEY empty).
PLACEHOLDER_SECRET = "change-me-to-a-random-string-of-at-least-32-bytes"
HMAC_ALGORITHMS = ("HS256", "HS384", "HS512")
ASYMMETRIC_ALGORITHMS = ("EdDSA", "ES256", "RS256")
SUPPORTED_ALGORITHMS = HMAC_ALGORITHMS + ASYMMETRIC_ALGORITHMS
# ASVS 2.2.1: never more than this many failed logins per account per hour.
MAX_FAILURES_PER_HOUR = 100
MIN_SECRET_BYTES = 32
MIN_PRODUCTION_ROUNDS = 12
MAX_LEEWAY_SECONDS = 300
MAX_GRACE_SECONDS = 60
MAX_PASSWORD_LENGTH = 128
# Coarser than a /32 would put a whole provider's customers under one per-address limit.
MIN_IPV6_PREFIX = 32
MAX_READ_TIMEOUT_SECONDS = 300
_UNRESERVED = re.compile(r"^[A-Za-z0-9._~-]+$")
_STORAGE_URL = re.compile(r"^(memory://|sqlite:///.+|postgresql://[^/]+/\w+(\?.*)?)$")


@dataclass(frozen=True)
class Settings:
    """Everything the service can be configured with; build it with `from_env` or directly."""

    jwt_secret_key: str = field(default="", repr=False)
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
    storage_pool_size: int = 10  # connections per worker, PostgreSQL only
    # Asymmetric signing: one PEM private key, plus any number of verification-only keys.
    jwt_private_key: str = field(default="", repr=False)
    jwt_verification_keys: tuple[str, ...] = field(default=(), repr=False)
    # HMAC key rotation: retired secrets that still verify (never sign).
    jwt_previous_secret_keys: tuple[str, ...] = field(default=(), repr=False)
    login_max_failures: int = 5
    login_failure_window_seconds: int = 900
    auth_rate_limit_per_minute: int = 60
    trusted_proxies: tuple[str, ...] = ()
    max_body_bytes: int = 64 * 1024
    hash_queue_timeout_seconds: float = 5.0
    hash_concurrency: int = 0  # 0: one bcrypt thread per core
    # Connexion adaptations that spare per-request work (authapi/app_tuning.py); off runs
    # stock Connexion, for instance while a Connexion upgrade is checked against them.
    connexion_tuning: bool = True
    metrics_enabled: bool = True
    metrics_token: str = field(default="", repr=False)
    # True when no secret was configured and a random one stands in (development only).
    secret_is_ephemeral: bool = False
    # Password checks per account per hour from addresses it never logged in from (0: off).
    login_max_failures_per_account: int = 50
    # A login past this ends the user's oldest live sessions.
    max_sessions_per_user: int = 50
    # A task past this is refused; nothing stored is lost.
    max_tasks_per_user: int = 10_000
    client_ipv6_prefix: int = 64
    request_read_timeout_seconds: int = 30
    # Resource servers allowed to call introspection: (client_id, secret) pairs.
    introspection_clients: tuple[tuple[str, str], ...] = field(default=(), repr=False)

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
        algorithm = values.get("JWT_ALGORITHM", "HS256").strip() or "HS256"
        secret = values.get("JWT_SECRET_KEY", "")
        private_key = values.get("JWT_PRIVATE_KEY", "") or _read(values, "JWT_PRIVATE_KEY_FILE")
        ephemeral = False
        if app_env != "production":
            if algorithm in HMAC_ALGORITHMS and not secret:
                secret, ephemeral = secrets.token_urlsafe(48), True
            if algorithm in ASYMMETRIC_ALGORITHMS and not private_key:
                # The key ring generates the key pair (authapi/keys.py) when it loads.
                ephemeral = True
        return cls(
            jwt_secret_key=secret,
            jwt_algorithm=algorithm,
            jwt_issuer=values.get("JWT_ISSUER", "auth-api").strip() or "auth-api",
            jwt_audience=values.get("JWT_AUDIENCE", "auth-api").strip() or "auth-api",
            access_token_expire_minutes=_int(values, "ACCESS_TOKEN_EXPIRE_MINUTES", 15),
            refresh_token_expire_days=_int(values, "REFRESH_TOKEN_EXPIRE_DAYS", 7),
            jwt_leeway_seconds=_int(values, "JWT_LEEWAY_SECONDS", 30),
            refresh_reuse_grace_seconds=_int(values, "REFRESH_REUSE_GRACE_SECONDS", 10),
            bcrypt_rounds=_int(values, "BCRYPT_ROUNDS", 12),
            password_min_length=_int(values, "PASSWORD_MIN_LENGTH", 8),
            cors_origins=_list(values, "CORS_ORIGINS"),
            app_env=app_env,
            log_level=values.get("LOG_LEVEL", "INFO").strip().upper() or "INFO",
            storage_url=values.get("STORAGE_URL", "memory://").strip() or "memory://",
            storage_pool_size=_int(values, "STORAGE_POOL_SIZE", 10),
            jwt_private_key=private_key,
            jwt_verification_keys=tuple(
                _read_file("JWT_VERIFICATION_KEY_FILES", path)
                for path in _list(values, "JWT_VERIFICATION_KEY_FILES")
            ),
            jwt_previous_secret_keys=_list(values, "JWT_PREVIOUS_SECRET_KEYS"),
            login_max_failures=_int(values, "LOGIN_MAX_FAILURES", 5),
            login_failure_window_seconds=_int(values, "LOGIN_FAILURE_WINDOW_SECONDS", 900),
            auth_rate_limit_per_minute=_int(values, "AUTH_RATE_LIMIT_PER_MINUTE", 60),
            trusted_proxies=_list(values, "TRUSTED_PROXIES"),
            max_body_bytes=_int(values, "MAX_BODY_BYTES", 64 * 1024),
            hash_queue_timeout_seconds=_float(values, "HASH_QUEUE_TIMEOUT_SECONDS", 5.0),
            hash_concurrency=_int(values, "HASH_CONCURRENCY", 0),
            connexion_tuning=_bool(values, "CONNEXION_TUNING", True),
            metrics_enabled=_bool(values, "METRICS_ENABLED", True),
            metrics_token=values.get("METRICS_TOKEN", "").strip(),
            secret_is_ephemeral=ephemeral,
            login_max_failures_per_account=_int(values, "LOGIN_MAX_FAILURES_PER_ACCOUNT", 50),
            max_sessions_per_user=_int(values, "MAX_SESSIONS_PER_USER", 50),
            max_tasks_per_user=_int(values, "MAX_TASKS_PER_USER", 10_000),
            client_ipv6_prefix=_int(values, "CLIENT_IPV6_PREFIX", 64),
            request_read_timeout_seconds=_int(values, "REQUEST_READ_TIMEOUT_SECONDS", 30),
            introspection_clients=_clients(values, "INTROSPECTION_CLIENTS"),
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
        for name, value, most in (
            ("JWT_LEEWAY_SECONDS", self.jwt_leeway_seconds, MAX_LEEWAY_SECONDS),
            ("REFRESH_REUSE_GRACE_SECONDS", self.refresh_reuse_grace_seconds, MAX_GRACE_SECONDS),
        ):
            if not 0 <= value <= most:
                raise ConfigError(f"{name} must be between 0 and {most}.")
        if self.log_level not in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
            raise ConfigError("LOG_LEVEL must be DEBUG, INFO, WARNING, ERROR or CRITICAL.")
        if not _STORAGE_URL.match(self.storage_url):
            raise ConfigError(
                "STORAGE_URL must be memory://, sqlite:///path/to/file.db or "
                "postgresql://user@host:port/database."
            )
        if not 1 <= self.storage_pool_size <= 100:
            raise ConfigError("STORAGE_POOL_SIZE must be between 1 and 100.")
        self._check_keys()
        self._check_limits()
        if self.is_production:
            self._check_production()
        self._check_introspection_clients()

    def _check_keys(self) -> None:
        if self.uses_hmac and not self.jwt_secret_key:
            raise ConfigError("JWT_SECRET_KEY must be set.")
        # Published in .env.example, so known to everyone: it would sign tokens for anyone.
        if self.uses_hmac and self.jwt_secret_key == PLACEHOLDER_SECRET:
            raise ConfigError("JWT_SECRET_KEY is still the .env.example placeholder.")
        if PLACEHOLDER_SECRET in self.jwt_previous_secret_keys:
            raise ConfigError("JWT_PREVIOUS_SECRET_KEYS holds the .env.example placeholder.")
        if not self.uses_hmac and not self.jwt_private_key and not self.generates_private_key:
            raise ConfigError(
                f"JWT_PRIVATE_KEY or JWT_PRIVATE_KEY_FILE must be set for {self.jwt_algorithm}."
            )

    def _check_limits(self) -> None:
        for name, value in (
            ("LOGIN_MAX_FAILURES", self.login_max_failures),
            ("AUTH_RATE_LIMIT_PER_MINUTE", self.auth_rate_limit_per_minute),
        ):
            if value < 0:
                raise ConfigError(f"{name} must not be negative (0 disables it).")
        if self.login_failure_window_seconds < 1:
            raise ConfigError("LOGIN_FAILURE_WINDOW_SECONDS must be at least 1.")
        windows_per_hour = -(-3600 // self.login_failure_window_seconds)
        if self.login_max_failures * windows_per_hour > MAX_FAILURES_PER_HOUR:
            raise ConfigError(
                "LOGIN_MAX_FAILURES and LOGIN_FAILURE_WINDOW_SECONDS would allow more than "
                f"{MAX_FAILURES_PER_HOUR} failed logins per account per hour from one address."
            )
        if self.max_body_bytes < 1024:
            raise ConfigError("MAX_BODY_BYTES must be at least 1024.")
        if self.hash_queue_timeout_seconds <= 0:
            raise ConfigError("HASH_QUEUE_TIMEOUT_SECONDS must be positive.")
        if self.hash_concurrency < 0:
            raise ConfigError("HASH_CONCURRENCY must not be negative (0: one per core).")
        if not 0 <= self.login_max_failures_per_account <= MAX_FAILURES_PER_HOUR:
            raise ConfigError(
                "LOGIN_MAX_FAILURES_PER_ACCOUNT must be between 0 (off) and "
                f"{MAX_FAILURES_PER_HOUR} failed logins per account per hour."
            )
        if not 1 <= self.max_sessions_per_user <= 1000:
            raise ConfigError("MAX_SESSIONS_PER_USER must be between 1 and 1000.")
        if not 1 <= self.max_tasks_per_user <= 1_000_000:
            raise ConfigError("MAX_TASKS_PER_USER must be between 1 and 1000000.")
        self._check_edges()

    def _check_edges(self) -> None:
        for proxy in self.trusted_proxies:
            try:
                ipaddress.ip_network(proxy, strict=False)
            except ValueError:
                raise ConfigError(
                    "TRUSTED_PROXIES must list IP addresses or CIDR networks."
                ) from None
        if not MIN_IPV6_PREFIX <= self.client_ipv6_prefix <= 128:
            raise ConfigError(f"CLIENT_IPV6_PREFIX must be between {MIN_IPV6_PREFIX} and 128.")
        if not 1 <= self.request_read_timeout_seconds <= MAX_READ_TIMEOUT_SECONDS:
            raise ConfigError(
                f"REQUEST_READ_TIMEOUT_SECONDS must be between 1 and {MAX_READ_TIMEOUT_SECONDS}."
            )

    def _check_introspection_clients(self) -> None:
        ids = [client_id for client_id, _ in self.introspection_clients]
        if any(not client_id or not secret for client_id, secret in self.introspection_clients):
            raise ConfigError("INTROSPECTION_CLIENTS must list client_id:secret pairs.")
        if not all(
            _UNRESERVED.match(client_id) and _UNRESERVED.match(secret)
            for client_id, secret in self.introspection_clients
        ):
            # Characters that HTTP Basic credentials carry the same whether or not a client
            # form-encodes them first, as RFC 6749 §2.3.1 asks and most clients do not.
            raise ConfigError(
                "INTROSPECTION_CLIENTS ids and secrets may hold only letters, digits and -._~."
            )
        if len(set(ids)) != len(ids):
            raise ConfigError("INTROSPECTION_CLIENTS must not name a client_id twice.")
        if self.is_production and any(
            len(secret.encode()) < MIN_SECRET_BYTES for _, secret in self.introspection_clients
        ):
            raise ConfigError(
                f"INTROSPECTION_CLIENTS secrets must be at least {MIN_SECRET_BYTES} bytes "
                "in production."
            )

    @property
    def generates_private_key(self) -> bool:
        """Tell whether the key ring makes up a key pair for this process (development only)."""
        return (
            not self.uses_hmac
            and not self.jwt_private_key
            and self.secret_is_ephemeral
            and not self.is_production
        )

    @property
    def uses_hmac(self) -> bool:
        """Tell whether tokens are signed with a shared secret rather than a key pair."""
        return self.jwt_algorithm in HMAC_ALGORITHMS

    def _check_production(self) -> None:
        if self.uses_hmac:
            if len(self.jwt_secret_key.encode()) < MIN_SECRET_BYTES:
                raise ConfigError(f"JWT_SECRET_KEY must be at least {MIN_SECRET_BYTES} bytes.")
            # A retired secret still verifies: a weak one forges tokens as well as a weak current.
            if any(len(key.encode()) < MIN_SECRET_BYTES for key in self.jwt_previous_secret_keys):
                raise ConfigError(
                    f"JWT_PREVIOUS_SECRET_KEYS must each be at least {MIN_SECRET_BYTES} bytes."
                )
        if self.bcrypt_rounds < MIN_PRODUCTION_ROUNDS:
            raise ConfigError(
                f"BCRYPT_ROUNDS must be at least {MIN_PRODUCTION_ROUNDS} in production."
            )
        if "*" in self.cors_origins:
            raise ConfigError("CORS_ORIGINS must list explicit origins, not '*', in production.")
        if self.metrics_enabled and not self.metrics_token:
            raise ConfigError(
                "METRICS_TOKEN must be set in production (or METRICS_ENABLED=false): /metrics "
                "would be open to anyone who reaches the API port."
            )


def _list(values: Mapping[str, str], name: str) -> tuple[str, ...]:
    return tuple(item.strip() for item in values.get(name, "").split(",") if item.strip())


def _clients(values: Mapping[str, str], name: str) -> tuple[tuple[str, str], ...]:
    pairs = []
    for item in _list(values, name):
        client_id, colon, secret = item.partition(":")
        if not colon:
            raise ConfigError(f"{name} must list client_id:secret pairs.")
        pairs.append((client_id.strip(), secret.strip()))
    return tuple(pairs)


def _read(values: Mapping[str, str], name: str) -> str:
    path = values.get(name, "").strip()
    return _read_file(name, path) if path else ""


def _read_file(name: str, path: str) -> str:
    try:
        return Path(path).read_text()
    except OSError:
        raise ConfigError(f"{name} names a file that cannot be read.") from None


def _float(values: Mapping[str, str], name: str, default: float) -> float:
    raw = values.get(name, "").strip()
    if not raw:
        return default
    try:
        return float(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a number.") from None


def _bool(values: Mapping[str, str], name: str, default: bool) -> bool:
    raw = values.get(name, "").strip().lower()
    if not raw:
        return default
    if raw in ("1", "true", "yes", "on"):
        return True
    if raw in ("0", "false", "no", "off"):
        return False
    raise ConfigError(f"{name} must be true or false.")


def _int(values: Mapping[str, str], name: str, default: int) -> int:
    raw = values.get(name, "").strip()
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number.") from None
