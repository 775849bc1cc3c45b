"""Configuration, read once from the environment (and an optional `.env` file)."""

from __future__ import annotations

import base64
import binascii
import ipaddress
import os
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from dotenv import dotenv_values
from fido2.rpid import verify_rp_id

from authapi import envvars
from authapi.envvars import setting
from authapi.errors import ConfigError
from authapi.password_hashes import (
    MAX_ARGON2_MEMORY_KIB,
    MAX_ARGON2_PARALLELISM,
    MAX_ARGON2_TIME_COST,
    MIN_KIB_PER_LANE,
    OWASP_ARGON2ID_PROFILES,
    Argon2Cost,
)

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
PASSWORD_HASHES = ("argon2id", "bcrypt")
# Production's ceilings on token lifetimes: a stolen token is worth at most this much.
MAX_PRODUCTION_ACCESS_MINUTES = 60
MAX_PRODUCTION_REFRESH_DAYS = 90
# Hosts a browser reaches over plain http without leaving the machine.
LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})
MAX_LEEWAY_SECONDS = 300
# Ten years: a device token outliving that is a device nobody remembers.
MAX_DEVICE_TOKEN_DAYS = 3650
MAX_GRACE_SECONDS = 60
MAX_PASSWORD_LENGTH = 128
# Coarser than a /32 would put a whole provider's customers under one per-address limit.
MIN_IPV6_PREFIX = 32
MAX_READ_TIMEOUT_SECONDS = 300
# AES-256-GCM: MFA_ENCRYPTION_KEY is 32 bytes, written in base64.
MFA_KEY_BYTES = 32
MAX_STEP_UP_AGE_SECONDS = 86_400
_DOMAIN = re.compile(
    r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$"
)
_UNRESERVED = re.compile(r"^[A-Za-z0-9._~-]+$")
_STORAGE_URL = re.compile(r"^(memory://|sqlite:///.+|postgresql://[^/]+/\w+(\?.*)?)$")


@dataclass(frozen=True)
class Settings:
    """Everything the service can be configured with; build it with `from_env` or directly.

    Each field is declared once, with its variable, default, parser and bounds (`setting`);
    the README's configuration table and `.env.example` are checked against these.
    """

    jwt_secret_key: str = setting("JWT_SECRET_KEY", "", secret=True, strip=False)
    jwt_algorithm: str = setting("JWT_ALGORITHM", "HS256", choices=SUPPORTED_ALGORITHMS)
    jwt_issuer: str = setting("JWT_ISSUER", "auth-api")
    jwt_audience: str = setting("JWT_AUDIENCE", "auth-api")
    access_token_expire_minutes: int = setting("ACCESS_TOKEN_EXPIRE_MINUTES", 15, low=1)
    refresh_token_expire_days: int = setting("REFRESH_TOKEN_EXPIRE_DAYS", 7, low=1)
    jwt_leeway_seconds: int = setting("JWT_LEEWAY_SECONDS", 30, low=0, high=MAX_LEEWAY_SECONDS)
    refresh_reuse_grace_seconds: int = setting(
        "REFRESH_REUSE_GRACE_SECONDS", 10, low=0, high=MAX_GRACE_SECONDS
    )
    # New password hashes: Argon2id (OWASP's first choice) or bcrypt; both are always checked.
    password_hash: str = setting(
        "PASSWORD_HASH",
        "argon2id",
        parse=envvars.lower,
        choices=PASSWORD_HASHES,
        rule="must be argon2id or bcrypt.",
    )
    # OWASP's minimum Argon2id profile by default: 19 MiB, two passes, one lane.
    argon2_memory_kib: int = setting(
        "ARGON2_MEMORY_KIB", 19456, low=MIN_KIB_PER_LANE, high=MAX_ARGON2_MEMORY_KIB
    )
    argon2_time_cost: int = setting("ARGON2_TIME_COST", 2, low=1, high=MAX_ARGON2_TIME_COST)
    argon2_parallelism: int = setting("ARGON2_PARALLELISM", 1, low=1, high=MAX_ARGON2_PARALLELISM)
    # bcrypt's cost for new hashes under PASSWORD_HASH=bcrypt; under argon2id, the cost the
    # bcrypt-era hashes still stored were made at, which every wrong password is padded to.
    bcrypt_rounds: int = setting("BCRYPT_ROUNDS", 12, low=4, high=31)
    password_min_length: int = setting("PASSWORD_MIN_LENGTH", 8, low=8, high=MAX_PASSWORD_LENGTH)
    cors_origins: tuple[str, ...] = setting("CORS_ORIGINS", ())
    app_env: str = setting(
        "APP_ENV",
        "development",
        parse=envvars.lower,
        choices=("development", "production"),
        rule="must be 'development' or 'production'.",
    )
    log_level: str = setting(
        "LOG_LEVEL",
        "INFO",
        parse=envvars.upper,
        choices=("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"),
        rule="must be DEBUG, INFO, WARNING, ERROR or CRITICAL.",
    )
    storage_url: str = setting(
        "STORAGE_URL",
        "memory://",
        valid=lambda url: _STORAGE_URL.match(url) is not None,
        rule="must be memory://, sqlite:///path/to/file.db or "
        "postgresql://user@host:port/database.",
    )
    # Connections per worker, PostgreSQL only.
    storage_pool_size: int = setting("STORAGE_POOL_SIZE", 10, low=1, high=100)
    # Asymmetric signing: one PEM private key, plus any number of verification-only keys.
    jwt_private_key: str = setting(
        "JWT_PRIVATE_KEY", "", file_name="JWT_PRIVATE_KEY_FILE", secret=True, strip=False
    )
    jwt_verification_keys: tuple[str, ...] = setting(
        "JWT_VERIFICATION_KEY_FILES", (), parse=envvars.files, secret=True
    )
    # HMAC key rotation: retired secrets that still verify (never sign).
    jwt_previous_secret_keys: tuple[str, ...] = setting("JWT_PREVIOUS_SECRET_KEYS", (), secret=True)
    login_max_failures: int = setting(
        "LOGIN_MAX_FAILURES", 5, low=0, rule="must not be negative (0 disables it)."
    )
    login_failure_window_seconds: int = setting("LOGIN_FAILURE_WINDOW_SECONDS", 900, low=1)
    auth_rate_limit_per_minute: int = setting(
        "AUTH_RATE_LIMIT_PER_MINUTE", 60, low=0, rule="must not be negative (0 disables it)."
    )
    trusted_proxies: tuple[str, ...] = setting(
        "TRUSTED_PROXIES",
        (),
        valid=lambda proxies: all(_is_network(proxy) for proxy in proxies),
        rule="must list IP addresses or CIDR networks.",
    )
    max_body_bytes: int = setting("MAX_BODY_BYTES", 64 * 1024, low=1024)
    hash_queue_timeout_seconds: float = setting(
        "HASH_QUEUE_TIMEOUT_SECONDS",
        5.0,
        valid=lambda seconds: seconds > 0,
        rule="must be positive.",
    )
    hash_concurrency: int = setting(
        "HASH_CONCURRENCY",
        0,
        low=0,
        rule="must not be negative (0: one per CPU this process may run on).",
    )
    # Connexion adaptations that spare per-request work (authapi/web/app_tuning.py); off runs
    # stock Connexion, for instance while a Connexion upgrade is checked against them.
    connexion_tuning: bool = setting("CONNEXION_TUNING", True)
    metrics_enabled: bool = setting("METRICS_ENABLED", True)
    metrics_token: str = setting("METRICS_TOKEN", "", secret=True)
    # True when no key was configured and a random one stands in (development only).
    secret_is_ephemeral: bool = False
    # True when APP_ENV was not set and development was assumed: startup warns about it.
    app_env_is_default: bool = False
    # Password checks per account per hour from addresses it never logged in from (0: off).
    login_max_failures_per_account: int = setting(
        "LOGIN_MAX_FAILURES_PER_ACCOUNT",
        50,
        low=0,
        high=MAX_FAILURES_PER_HOUR,
        rule=f"must be between 0 (off) and {MAX_FAILURES_PER_HOUR} failed logins per account "
        "per hour.",
    )
    # How long a device token lets its device past the per-account ceiling (authapi/devices.py).
    device_token_days: int = setting("DEVICE_TOKEN_DAYS", 365, low=1, high=MAX_DEVICE_TOKEN_DAYS)
    # A login past this ends the user's oldest live sessions.
    max_sessions_per_user: int = setting("MAX_SESSIONS_PER_USER", 50, low=1, high=1000)
    # A task past this is refused; nothing stored is lost.
    max_tasks_per_user: int = setting("MAX_TASKS_PER_USER", 10_000, low=1, high=1_000_000)
    # Task creates, updates and deletes per user per minute (0: off): one account's writes
    # cost the store and every reader, however many tasks it keeps.
    task_writes_per_minute: int = setting(
        "TASK_WRITES_PER_MINUTE", 120, low=0, rule="must not be negative (0 disables it)."
    )
    # Registration attempts per client address per day (0: off), besides the per-minute
    # limit: accounts are free, so each one's caps bound nothing without this.
    registrations_per_address_per_day: int = setting(
        "REGISTRATIONS_PER_ADDRESS_PER_DAY", 20, low=0, rule="must not be negative (0 disables it)."
    )
    # The memory store's ceilings (the SQL stores ignore them): past either, a new user or
    # task gets 507, while reads, logins and deletes go on. No 0: there is no "off".
    memory_store_max_users: int = setting("MEMORY_STORE_MAX_USERS", 100_000, low=1)
    memory_store_max_tasks: int = setting("MEMORY_STORE_MAX_TASKS", 1_000_000, low=1)
    # All users' activity events together on the memory store: past it, recording an event
    # drops the oldest of all (never a 507: a change is not refused for its report's sake).
    memory_store_max_activity_events: int = setting(
        "MEMORY_STORE_MAX_ACTIVITY_EVENTS", 1_000_000, low=1
    )
    # Each user's account activity: kept this long, and at most this many events (the oldest
    # go first when a new one comes).
    activity_retention_days: int = setting("ACTIVITY_RETENTION_DAYS", 90, low=1, high=3650)
    max_activity_events_per_user: int = setting(
        "MAX_ACTIVITY_EVENTS_PER_USER", 1000, low=10, high=100_000
    )
    client_ipv6_prefix: int = setting("CLIENT_IPV6_PREFIX", 64, low=MIN_IPV6_PREFIX, high=128)
    request_read_timeout_seconds: int = setting(
        "REQUEST_READ_TIMEOUT_SECONDS", 30, low=1, high=MAX_READ_TIMEOUT_SECONDS
    )
    # Second factors: the key that encrypts TOTP secrets and keys recovery codes' HMACs,
    # retired keys that still decrypt, and the per-user limit of wrong codes.
    mfa_encryption_key: str = setting("MFA_ENCRYPTION_KEY", "", secret=True)
    mfa_previous_encryption_keys: tuple[str, ...] = setting(
        "MFA_PREVIOUS_ENCRYPTION_KEYS", (), secret=True
    )
    mfa_max_failures: int = setting("MFA_MAX_FAILURES", 5, low=1, high=100)
    mfa_failure_window_seconds: int = setting("MFA_FAILURE_WINDOW_SECONDS", 900, low=1, high=86_400)
    # How recent a second factor must be for the operations that ask for one (RFC 9470).
    step_up_max_age_seconds: int = setting(
        "STEP_UP_MAX_AGE_SECONDS", 300, low=1, high=MAX_STEP_UP_AGE_SECONDS
    )
    # Passkeys (WebAuthn): the relying party's id (a domain; each origin's host or a parent of
    # it), the name authenticators show, and the exact origins a ceremony may come from.
    webauthn_rp_id: str = setting(
        "WEBAUTHN_RP_ID",
        "localhost",
        parse=envvars.lower,
        valid=lambda rp_id: _DOMAIN.match(rp_id) is not None,
        rule="must be a domain name such as example.com (no scheme, port or path).",
    )
    webauthn_rp_name: str = setting("WEBAUTHN_RP_NAME", "auth-api")
    webauthn_origins: tuple[str, ...] = setting(
        "WEBAUTHN_ORIGINS",
        ("http://localhost:8000",),
        valid=lambda origins: bool(origins) and all(_is_web_origin(o) for o in origins),
        rule="must list origins such as https://app.example.com (scheme, host and port only).",
    )
    # True when no MFA_ENCRYPTION_KEY was set and a random one stands in (development only).
    mfa_key_is_ephemeral: bool = False
    # Resource servers allowed to call introspection: (client_id, secret) pairs.
    introspection_clients: tuple[tuple[str, str], ...] = setting(
        "INTROSPECTION_CLIENTS", (), parse=envvars.clients, secret=True
    )

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

    @property
    def device_ttl_seconds(self) -> int:
        return self.device_token_days * 86400

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
        declared = envvars.read(cls, values)
        declared["app_env_is_default"] = not values.get("APP_ENV", "").strip()
        if declared["app_env"] != "production":
            algorithm = declared["jwt_algorithm"]
            if algorithm in HMAC_ALGORITHMS and not declared["jwt_secret_key"]:
                declared["jwt_secret_key"] = secrets.token_urlsafe(48)
                declared["secret_is_ephemeral"] = True
            if algorithm in ASYMMETRIC_ALGORITHMS and not declared["jwt_private_key"]:
                # The key ring generates the key pair (authapi/keys.py) when it loads.
                declared["secret_is_ephemeral"] = True
            if not declared["mfa_encryption_key"]:
                # Every TOTP secret stored under it is unreadable after a restart.
                declared["mfa_encryption_key"] = base64.b64encode(
                    secrets.token_bytes(MFA_KEY_BYTES)
                ).decode()
                declared["mfa_key_is_ephemeral"] = True
        return cls(**declared)

    def _check(self) -> None:
        envvars.check(self)
        self._check_keys()
        self._check_limits()
        self._check_argon2()
        self._check_webauthn()
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
        # In every environment: a short secret in development is one copied to production
        # some day, and tokens it signed can be forged offline. The key development makes
        # up when none is set (secrets.token_urlsafe(48), 64 bytes) meets this too.
        if self.jwt_secret_key and len(self.jwt_secret_key.encode()) < MIN_SECRET_BYTES:
            raise ConfigError(f"JWT_SECRET_KEY must be at least {MIN_SECRET_BYTES} bytes.")
        # A retired secret still verifies: a weak one forges tokens as well as a weak current.
        if any(len(key.encode()) < MIN_SECRET_BYTES for key in self.jwt_previous_secret_keys):
            raise ConfigError(
                f"JWT_PREVIOUS_SECRET_KEYS must each be at least {MIN_SECRET_BYTES} bytes."
            )
        if not self.uses_hmac and not self.jwt_private_key and not self.generates_private_key:
            raise ConfigError(
                f"JWT_PRIVATE_KEY or JWT_PRIVATE_KEY_FILE must be set for {self.jwt_algorithm}."
            )
        self._check_mfa_keys()

    def _check_mfa_keys(self) -> None:
        if self.mfa_encryption_key and _mfa_key(self.mfa_encryption_key) is None:
            raise ConfigError(
                f"MFA_ENCRYPTION_KEY must be {MFA_KEY_BYTES} bytes written in base64."
            )
        if any(_mfa_key(key) is None for key in self.mfa_previous_encryption_keys):
            raise ConfigError(
                f"MFA_PREVIOUS_ENCRYPTION_KEYS must each be {MFA_KEY_BYTES} bytes in base64."
            )

    @property
    def mfa_keys(self) -> tuple[bytes, ...]:
        """Return the MFA keys: the current one first, then the retired ones.

        Settings built directly without a key (tests) get a fixed all-zero key, which
        production refuses; `from_env` makes up a random one in development.
        """
        current = _mfa_key(self.mfa_encryption_key) or bytes(MFA_KEY_BYTES)
        previous = (_mfa_key(key) for key in self.mfa_previous_encryption_keys)
        return (current, *(key for key in previous if key is not None))

    @property
    def argon2(self) -> Argon2Cost:
        """Return the Argon2id parameters new hashes are made with."""
        return Argon2Cost(self.argon2_memory_kib, self.argon2_time_cost, self.argon2_parallelism)

    def _check_argon2(self) -> None:
        if self.argon2_memory_kib < MIN_KIB_PER_LANE * self.argon2_parallelism:
            raise ConfigError(
                f"ARGON2_MEMORY_KIB must be at least {MIN_KIB_PER_LANE} per lane "
                "(ARGON2_PARALLELISM)."
            )
        if self.is_production and not self.argon2.meets_owasp_minimum():
            profiles = ", ".join(
                f"{memory} KiB with {passes} passes" for memory, passes in OWASP_ARGON2ID_PROFILES
            )
            raise ConfigError(
                "ARGON2_MEMORY_KIB and ARGON2_TIME_COST must reach one of OWASP's minimum "
                f"Argon2id profiles in production ({profiles})."
            )

    def _check_webauthn(self) -> None:
        # In every environment: browsers offer passkeys to secure contexts only, and an RP ID
        # an origin may not claim makes every ceremony fail.
        if not all(_is_secure_context(origin) for origin in self.webauthn_origins):
            raise ConfigError(
                "WEBAUTHN_ORIGINS must list https:// origins, or http://localhost ones in "
                "development: browsers refuse passkeys anywhere else."
            )
        if not all(verify_rp_id(self.webauthn_rp_id, o) for o in self.webauthn_origins):
            raise ConfigError(
                "WEBAUTHN_RP_ID must be the host of every WEBAUTHN_ORIGINS entry or a domain "
                "above it, and not a public suffix."
            )

    @property
    def webauthn_allowed_origins(self) -> frozenset[str]:
        """Return the origins a ceremony may come from, as browsers write them."""
        return frozenset(_normal_origin(origin) for origin in self.webauthn_origins)

    def _check_limits(self) -> None:
        windows_per_hour = -(-3600 // self.login_failure_window_seconds)
        if self.login_max_failures * windows_per_hour > MAX_FAILURES_PER_HOUR:
            raise ConfigError(
                "LOGIN_MAX_FAILURES and LOGIN_FAILURE_WINDOW_SECONDS would allow more than "
                f"{MAX_FAILURES_PER_HOUR} failed logins per account per hour from one address."
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
        if self.password_hash == "bcrypt" and self.bcrypt_rounds < MIN_PRODUCTION_ROUNDS:
            raise ConfigError(
                f"BCRYPT_ROUNDS must be at least {MIN_PRODUCTION_ROUNDS} in production "
                "with PASSWORD_HASH=bcrypt."
            )
        if "*" in self.cors_origins:
            raise ConfigError("CORS_ORIGINS must list explicit origins, not '*', in production.")
        if any(_is_plain_http_elsewhere(origin) for origin in self.cors_origins):
            # A page served over http can be rewritten on the way: it must not get credentials.
            raise ConfigError(
                "CORS_ORIGINS must list https:// origins in production; http:// is allowed "
                "for localhost, 127.0.0.1 and [::1] only."
            )
        if self.metrics_enabled and not self.metrics_token:
            raise ConfigError(
                "METRICS_TOKEN must be set in production (or METRICS_ENABLED=false): /metrics "
                "would be open to anyone who reaches the API port."
            )
        if self.metrics_token and len(self.metrics_token.encode()) < MIN_SECRET_BYTES:
            raise ConfigError(
                f"METRICS_TOKEN must be at least {MIN_SECRET_BYTES} bytes in production."
            )
        if _trusts_every_address(self.trusted_proxies):
            # Every client could then name its own address, and reset its limits at will.
            raise ConfigError(
                "TRUSTED_PROXIES must not cover every address (0.0.0.0/0 or ::/0) in production."
            )
        for variable, limit in (
            ("LOGIN_MAX_FAILURES", self.login_max_failures),
            ("AUTH_RATE_LIMIT_PER_MINUTE", self.auth_rate_limit_per_minute),
            ("LOGIN_MAX_FAILURES_PER_ACCOUNT", self.login_max_failures_per_account),
        ):
            if limit == 0:
                raise ConfigError(
                    f"{variable} must not be 0 in production: it would switch off a limit on "
                    "password guessing."
                )
        for variable, limit in (
            ("TASK_WRITES_PER_MINUTE", self.task_writes_per_minute),
            ("REGISTRATIONS_PER_ADDRESS_PER_DAY", self.registrations_per_address_per_day),
        ):
            if limit == 0:
                raise ConfigError(
                    f"{variable} must not be 0 in production: it would switch off a limit on "
                    "how fast accounts can grow the store; set a larger number instead."
                )
        if self.access_token_expire_minutes > MAX_PRODUCTION_ACCESS_MINUTES:
            raise ConfigError(
                f"ACCESS_TOKEN_EXPIRE_MINUTES must be at most {MAX_PRODUCTION_ACCESS_MINUTES} "
                "in production."
            )
        if self.refresh_token_expire_days > MAX_PRODUCTION_REFRESH_DAYS:
            raise ConfigError(
                f"REFRESH_TOKEN_EXPIRE_DAYS must be at most {MAX_PRODUCTION_REFRESH_DAYS} "
                "in production."
            )
        if not self.mfa_encryption_key:
            raise ConfigError(
                "MFA_ENCRYPTION_KEY must be set in production: TOTP secrets are encrypted "
                "under it (32 random bytes in base64, e.g. `openssl rand -base64 32`)."
            )
        if any(urlsplit(origin).scheme.lower() != "https" for origin in self.webauthn_origins):
            # Its default (http://localhost:8000) included: a production RP is served over TLS.
            raise ConfigError("WEBAUTHN_ORIGINS must list https:// origins only in production.")


def _mfa_key(text: str) -> bytes | None:
    try:
        key = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError):
        return None
    return key if len(key) == MFA_KEY_BYTES else None


def _is_web_origin(text: str) -> bool:
    try:
        parts = urlsplit(text)
        _ = parts.port  # raises on a port that is no number
    except ValueError:
        return False
    return (
        parts.scheme.lower() in ("http", "https")
        and bool(parts.hostname)
        and parts.path in ("", "/")
        and not (parts.query or parts.fragment or parts.username or parts.password)
    )


def _is_secure_context(origin: str) -> bool:
    parts = urlsplit(origin)
    host = (parts.hostname or "").lower()
    if parts.scheme.lower() == "https":
        return True
    return parts.scheme.lower() == "http" and (host == "localhost" or host.endswith(".localhost"))


def _normal_origin(text: str) -> str:
    # Browsers write an origin in lower case, without a default port or a trailing slash.
    parts = urlsplit(text)
    scheme, host = parts.scheme.lower(), (parts.hostname or "").lower()
    if ":" in host:
        host = f"[{host}]"
    default = {"http": 80, "https": 443}[scheme]
    port = "" if parts.port in (None, default) else f":{parts.port}"
    return f"{scheme}://{host}{port}"


def _is_plain_http_elsewhere(origin: str) -> bool:
    try:
        parts = urlsplit(origin.strip())
        host = parts.hostname or ""
    except ValueError:
        # Not an origin at all (`http://[::1`): it admits no request (authapi/web/origins.py).
        return False
    return parts.scheme.lower() == "http" and host not in LOOPBACK_HOSTS


def _trusts_every_address(proxies: tuple[str, ...]) -> bool:
    networks = [ipaddress.ip_network(proxy, strict=False) for proxy in proxies]
    ipv4 = [n for n in networks if isinstance(n, ipaddress.IPv4Network)]
    ipv6 = [n for n in networks if isinstance(n, ipaddress.IPv6Network)]
    # Collapsed, so that 0.0.0.0/1 and 128.0.0.0/1 are caught as well as 0.0.0.0/0.
    return any(n.prefixlen == 0 for n in ipaddress.collapse_addresses(ipv4)) or any(
        n.prefixlen == 0 for n in ipaddress.collapse_addresses(ipv6)
    )


def _is_network(text: str) -> bool:
    try:
        ipaddress.ip_network(text, strict=False)
    except ValueError:
        return False
    return True
