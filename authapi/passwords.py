"""Password policy, and password hashing run off the event loop in a bounded pool."""

from __future__ import annotations

import asyncio
import functools
import gzip
import unicodedata
from collections.abc import Callable
from pathlib import Path

from authapi.errors import InvalidInput
from authapi.hash_pool import HashPool
from authapi.password_hashes import OWASP_MINIMUM, Argon2Cost, PasswordHashes
from authapi.settings import MAX_PASSWORD_LENGTH, Settings

# 30,000 most common passwords from zxcvbn's frequency lists (MIT); see README.
COMMON_PASSWORDS = Path(__file__).parent / "data" / "common-passwords.txt.gz"


def normalize_password(password: str) -> str:
    """Return the NFKC form, so that look-alike keyboards produce the same password."""
    return unicodedata.normalize("NFKC", password)


@functools.cache
def common_passwords() -> frozenset[str]:
    """Return the blocklist of common and breached passwords, case-folded (loaded once)."""
    with gzip.open(COMMON_PASSWORDS, "rt", encoding="utf-8") as lines:
        return frozenset(line.strip().casefold() for line in lines if line.strip())


def check_password_policy(
    password: str, min_length: int, *, email: str | None = None, service_names: tuple[str, ...] = ()
) -> str:
    """Return the normalized password, or raise naming the rule it breaks (never the value)."""
    normalized = normalize_password(password)
    if len(normalized) < min_length:
        raise InvalidInput("password", f"must be at least {min_length} characters long")
    if len(normalized) > MAX_PASSWORD_LENGTH:
        raise InvalidInput("password", f"must be at most {MAX_PASSWORD_LENGTH} characters long")
    folded = normalized.casefold()
    # NIST SP 800-63B 5.1.1.2: refuse known-breached and context-specific passwords.
    if folded in common_passwords():
        raise InvalidInput("password", "is too common: it appears in a list of breached passwords")
    if email is not None and folded in (email.casefold(), email.casefold().split("@")[0]):
        raise InvalidInput("password", "must not be the email address or its name part")
    if folded in {name.casefold() for name in service_names}:
        raise InvalidInput("password", "must not be the name of this service")
    return normalized


class PasswordHasher:
    """Hash and check passwords (authapi/password_hashes.py) in a bounded pool of threads.

    argon2-cffi and bcrypt release the GIL, so the threads hash while the event loop serves.
    """

    def __init__(
        self,
        rounds: int = 12,
        max_workers: int | None = None,
        queue_timeout: float = 5.0,
        on_wait: Callable[[int, float | None], None] | None = None,
        *,
        algorithm: str = "argon2id",
        argon2: Argon2Cost = OWASP_MINIMUM,
    ) -> None:
        self.hashes = PasswordHashes(algorithm, rounds, argon2)
        self.pool = HashPool(max_workers, queue_timeout, on_wait)

    @classmethod
    def from_settings(
        cls, settings: Settings, on_wait: Callable[[int, float | None], None] | None = None
    ) -> PasswordHasher:
        """Build the hasher the settings describe; HASH_CONCURRENCY=0 counts usable CPUs."""
        return cls(
            settings.bcrypt_rounds,
            max_workers=settings.hash_concurrency or None,
            queue_timeout=settings.hash_queue_timeout_seconds,
            on_wait=on_wait,
            algorithm=settings.password_hash,
            argon2=Argon2Cost(
                settings.argon2_memory_kib, settings.argon2_time_cost, settings.argon2_parallelism
            ),
        )

    @property
    def max_workers(self) -> int:
        """Return how many hashes run at once (each holding ARGON2_MEMORY_KIB meanwhile)."""
        return self.pool.threads

    def needs_rehash(self, password_hash: str) -> bool:
        """Tell whether a hash was made with another algorithm or other parameters."""
        return self.hashes.needs_rehash(password_hash)

    def hash_sync(self, password: str) -> str:
        """Hash a normalized password (blocking)."""
        return self.hashes.make(password)

    def verify_sync(self, password: str, password_hash: str | None) -> bool:
        """Check a password (blocking): one check, whose cost when wrong tells nothing.

        A wrong password costs the same against any stored hash, a malformed one or none
        (an unknown email); a malformed hash never matches.
        """
        return self.hashes.check_evenly(password, password_hash)

    async def hash(self, password: str) -> str:
        """Hash a password without blocking the event loop."""
        return await self.pool.run(self.hashes.make, normalize_password(password))

    async def verify(self, password: str, password_hash: str | None) -> bool:
        """Check a password; a wrong one costs the same whatever hash, or none, it met."""
        return await self.pool.run(self.verify_sync, normalize_password(password), password_hash)

    def close(self) -> None:
        """Stop the worker threads."""
        self.pool.close()

    async def warm_up(self) -> None:
        """Make the dummy hashes, measure a hash and load the blocklist, before any request."""
        await asyncio.get_running_loop().run_in_executor(None, self.hashes.warm_up)
        # One real hash through the pool: admission control starts with a measured time.
        await self.pool.run(self.hashes.make, "a warm-up password")
        common_passwords()
