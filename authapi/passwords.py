"""Password policy and bcrypt hashing, run off the event loop."""

from __future__ import annotations

import asyncio
import base64
import functools
import gzip
import hashlib
import os
import re
import secrets
import time
import unicodedata
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

import bcrypt

from authapi.errors import InvalidInput, Overloaded
from authapi.settings import MAX_PASSWORD_LENGTH

T = TypeVar("T")
# bcrypt's cost range, and the one form of hash its checkpw works through rather than refuses.
MIN_COST, MAX_COST = 4, 31
_BCRYPT_HASH = re.compile(r"\$2[aby]\$(\d\d)\$[./A-Za-z0-9]{53}")
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


def _bcrypt_input(password: str) -> bytes:
    # bcrypt reads at most 72 bytes and stops at a NUL byte. Hashing first gives it
    # 44 printable bytes that depend on every byte of the password.
    return base64.b64encode(hashlib.sha256(password.encode("utf-8")).digest())


def hash_cost(password_hash: str) -> int | None:
    """Return the cost a bcrypt hash was made at, or None when it is no bcrypt hash."""
    parts = password_hash.split("$")
    return int(parts[2]) if len(parts) >= 4 and parts[2].isdigit() else None


def _checkable_cost(password_hash: str) -> int | None:
    # The cost bcrypt will spend checking this hash; None when it would refuse the hash at once.
    found = _BCRYPT_HASH.fullmatch(password_hash)
    cost = None if found is None else int(found[1])
    return cost if cost is not None and MIN_COST <= cost <= MAX_COST else None


class PasswordHasher:
    """Hash and verify passwords with bcrypt in a bounded pool of threads.

    bcrypt releases the GIL, so threads use every core while the event loop keeps serving.
    """

    def __init__(
        self,
        rounds: int,
        max_workers: int | None = None,
        queue_timeout: float = 5.0,
        on_wait: Callable[[int, float | None], None] | None = None,
    ) -> None:
        self.rounds = rounds
        self.max_workers = max_workers or os.cpu_count() or 1
        self.queue_timeout = queue_timeout
        self.waiting = 0
        # Called with (hashes waiting, seconds waited or None when one joins the queue).
        self._on_wait = on_wait or (lambda depth, seconds: None)
        self._pool = ThreadPoolExecutor(max_workers=self.max_workers, thread_name_prefix="bcrypt")
        self._slots: asyncio.Semaphore | None = None
        self._slots_loop: asyncio.AbstractEventLoop | None = None
        # Hashes of random passwords, by cost, for the checks that only spend time.
        self._dummies: dict[int, str] = {}

    def needs_rehash(self, password_hash: str) -> bool:
        """Tell whether a hash was made at another cost than the configured one."""
        return hash_cost(password_hash) != self.rounds

    def hash_sync(self, password: str) -> str:
        """Hash a normalized password (blocking)."""
        return bcrypt.hashpw(_bcrypt_input(password), bcrypt.gensalt(self.rounds)).decode("ascii")

    def verify_sync(self, password: str, password_hash: str) -> bool:
        """Check a password against a stored hash (blocking); a malformed hash never matches."""
        try:
            return bcrypt.checkpw(_bcrypt_input(password), password_hash.encode("ascii"))
        except ValueError:
            return False

    async def hash(self, password: str) -> str:
        """Hash a password without blocking the event loop."""
        return await self._run(self.hash_sync, normalize_password(password))

    async def verify(self, password: str, password_hash: str | None) -> bool:
        """Check a password with the work of a check at the configured cost, hash or no hash."""
        normalized = normalize_password(password)
        return await self._run(self._verify_evenly_sync, normalized, password_hash)

    def _verify_evenly_sync(self, password: str, password_hash: str | None) -> bool:
        # Timing must not tell an unknown email (a dummy check at the configured cost r) from
        # an account whose hash is older than a raise of BCRYPT_ROUNDS (cost c < r, faster by
        # 2**(r-c)). A check at cost c is 2**c rounds of bcrypt's key schedule, and
        # 2**c + (2**c + 2**(c+1) + ... + 2**(r-1)) = 2**r: dummy checks at costs c .. r-1
        # top the real check up to the work of one at cost r. A hash that bcrypt would refuse
        # without any work gets the full dummy check instead.
        cost = None if password_hash is None else _checkable_cost(password_hash)
        matched = False
        if password_hash is not None and cost is not None:
            matched = self.verify_sync(password, password_hash)
        top_up = range(self.rounds, self.rounds + 1) if cost is None else range(cost, self.rounds)
        for dummy_cost in top_up:
            self.verify_sync(password, self._dummy(dummy_cost))
        return matched

    def close(self) -> None:
        """Stop the worker threads."""
        self._pool.shutdown(wait=False, cancel_futures=True)

    async def warm_up(self) -> None:
        """Make the dummy hashes and load the blocklist now, not during the first requests."""
        # One per cost up to the configured one: together less work than two hashes at it.
        for cost in range(MIN_COST, self.rounds + 1):
            await asyncio.get_running_loop().run_in_executor(self._pool, self._dummy, cost)
        common_passwords()

    def _dummy(self, cost: int) -> str:
        # Runs in a bcrypt thread; two threads racing here both make a valid dummy.
        dummy = self._dummies.get(cost)
        if dummy is None:
            salt = bcrypt.gensalt(cost)
            dummy = bcrypt.hashpw(_bcrypt_input(secrets.token_urlsafe(16)), salt).decode("ascii")
            self._dummies[cost] = dummy
        return dummy

    async def _run(self, fn: Callable[..., T], *args: str | None) -> T:
        loop = asyncio.get_running_loop()
        slots = self._slots_for(loop)
        started = time.perf_counter()
        self.waiting += 1
        self._on_wait(self.waiting, None)
        try:
            # Load shedding: a hash that cannot start in time is refused, not queued forever.
            await asyncio.wait_for(slots.acquire(), self.queue_timeout)
        except TimeoutError:
            raise Overloaded() from None
        finally:
            self.waiting -= 1
        self._on_wait(self.waiting, time.perf_counter() - started)
        try:
            return await loop.run_in_executor(self._pool, fn, *args)
        finally:
            slots.release()

    def _slots_for(self, loop: asyncio.AbstractEventLoop) -> asyncio.Semaphore:
        # One slot per thread: waiting happens here, where it can time out, not in the pool.
        if self._slots is None or self._slots_loop is not loop:
            self._slots, self._slots_loop = asyncio.Semaphore(self.max_workers), loop
        return self._slots
