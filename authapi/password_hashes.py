"""The stored forms of a password: Argon2id for new hashes, bcrypt still checked (blocking).

New hashes use PASSWORD_HASH: Argon2id PHC strings (`$argon2id$v=19$m=…,t=…,p=…$salt$hash`)
made with argon2-cffi, or bcrypt over a SHA-256 prehash (the only form before Argon2id).
Either is checked whatever the setting, so that a switch locks nobody out, and a hash of
the other algorithm or other parameters is due for a rehash at the next right password.

Work is counted in each algorithm's own unit: KiB-passes for Argon2 (memory * time cost:
it fills that many 1 KiB blocks) and 2**cost key-schedule rounds for bcrypt.
"""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
from dataclasses import dataclass

import bcrypt
from argon2 import Parameters, Type, extract_parameters, low_level
from argon2.exceptions import InvalidHashError, VerificationError

# bcrypt's cost range, and the one form of hash its checkpw works through rather than refuses.
MIN_COST, MAX_COST = 4, 31
_BCRYPT_HASH = re.compile(r"\$2[aby]\$(\d\d)\$[./A-Za-z0-9]{53}")
ARGON2_PREFIX = "$argon2"
# RFC 9106's recommendation for password hashing: a 128-bit salt and a 256-bit tag.
SALT_BYTES, HASH_BYTES = 16, 32
# Argon2's own floor: 8 KiB of memory per lane.
MIN_KIB_PER_LANE = 8
# The most a stored Argon2 hash may ask for before it is taken for a corrupt one: checking
# it would hold that much memory or time, as a hash of ours never would.
MAX_ARGON2_MEMORY_KIB = 4 * 1024 * 1024
MAX_ARGON2_TIME_COST = 64
MAX_ARGON2_PARALLELISM = 64
# OWASP Password Storage Cheat Sheet: Argon2id profiles of equal strength, (memory KiB, passes),
# each with one lane. Production accepts any configuration at or above one of them.
OWASP_ARGON2ID_PROFILES = ((47104, 1), (19456, 2), (12288, 3), (9216, 4), (7168, 5))


@dataclass(frozen=True)
class Argon2Cost:
    """Argon2 parameters: memory in KiB, passes over it, and lanes."""

    memory_kib: int
    time_cost: int
    parallelism: int

    @property
    def work(self) -> int:
        """Return the 1 KiB blocks a hash with these parameters fills."""
        return self.memory_kib * self.time_cost

    def meets_owasp_minimum(self) -> bool:
        """Tell whether these parameters reach one of OWASP's minimum Argon2id profiles."""
        return any(
            self.memory_kib >= memory and self.time_cost >= passes
            for memory, passes in OWASP_ARGON2ID_PROFILES
        )


OWASP_MINIMUM = Argon2Cost(memory_kib=19456, time_cost=2, parallelism=1)


def bcrypt_input(password: str) -> bytes:
    """Return what bcrypt is given for a password: its SHA-256, base64-encoded."""
    # bcrypt reads at most 72 bytes and stops at a NUL byte. Hashing first gives it
    # 44 printable bytes that depend on every byte of the password.
    return base64.b64encode(hashlib.sha256(password.encode("utf-8")).digest())


def hash_cost(password_hash: str) -> int | None:
    """Return the cost a bcrypt hash was made at, or None when it is no bcrypt hash."""
    parts = password_hash.split("$")
    return int(parts[2]) if len(parts) >= 4 and parts[2].isdigit() else None


def checkable_bcrypt_cost(password_hash: str) -> int | None:
    """Return the cost bcrypt will spend checking this hash; None when it would refuse it."""
    found = _BCRYPT_HASH.fullmatch(password_hash)
    cost = None if found is None else int(found[1])
    return cost if cost is not None and MIN_COST <= cost <= MAX_COST else None


def argon2_parameters(password_hash: str) -> Parameters | None:
    """Return an Argon2 hash's parameters; None for any other hash, or one we would not check."""
    if not password_hash.startswith(ARGON2_PREFIX):
        return None
    try:
        found = extract_parameters(password_hash)
    except (InvalidHashError, ValueError):
        return None
    within_bounds = (
        MIN_KIB_PER_LANE * found.parallelism <= found.memory_cost <= MAX_ARGON2_MEMORY_KIB
        and 1 <= found.time_cost <= MAX_ARGON2_TIME_COST
        and 1 <= found.parallelism <= MAX_ARGON2_PARALLELISM
    )
    return found if within_bounds else None


class PasswordHashes:
    """Make hashes with the configured algorithm; check every stored form, at an even cost."""

    def __init__(self, algorithm: str, bcrypt_rounds: int, argon2: Argon2Cost) -> None:
        self.algorithm = algorithm
        self.bcrypt_rounds = bcrypt_rounds
        self.argon2 = argon2
        self._wanted = Parameters(
            type=Type.ID,
            version=low_level.ARGON2_VERSION,
            salt_len=SALT_BYTES,
            hash_len=HASH_BYTES,
            time_cost=argon2.time_cost,
            memory_cost=argon2.memory_kib,
            parallelism=argon2.parallelism,
        )
        # Hashes of random passwords, by cost, for the bcrypt checks that only spend time.
        self._dummies: dict[int, str] = {}

    def make(self, password: str) -> str:
        """Hash a normalized password with PASSWORD_HASH (blocking)."""
        if self.algorithm == "bcrypt":
            salt = bcrypt.gensalt(self.bcrypt_rounds)
            return bcrypt.hashpw(bcrypt_input(password), salt).decode("ascii")
        return self._argon2_hash(password)

    def needs_rehash(self, password_hash: str) -> bool:
        """Tell whether a hash was made with another algorithm or other parameters."""
        if self.algorithm == "bcrypt":
            return hash_cost(password_hash) != self.bcrypt_rounds
        return argon2_parameters(password_hash) != self._wanted

    def check(self, password: str, password_hash: str) -> bool:
        """Check a password against a stored hash (blocking); a malformed hash never matches."""
        found = argon2_parameters(password_hash)
        if found is not None:
            return self._argon2_check(password, password_hash, found.type)
        try:
            return bcrypt.checkpw(bcrypt_input(password), password_hash.encode("ascii"))
        except ValueError:
            return False

    def check_evenly(self, password: str, password_hash: str | None) -> bool:
        """Check a password so that a wrong one costs the same whatever it was checked against.

        Timing must not tell an unknown email (no hash) from an account, nor an account
        whose hash is Argon2id from one whose hash is bcrypt, or from one made before the
        parameters went up. A wrong password therefore always ends up costing one Argon2id
        check at the configured parameters plus one bcrypt check at BCRYPT_ROUNDS: the real
        check counts toward its own algorithm's share, and what it leaves is topped up.
        bcrypt's share stays while bcrypt-era hashes may be stored (README: Passwords); it
        costs little once BCRYPT_ROUNDS is lowered.

        A right password is not topped up: the answer tells the caller it was right anyway.
        """
        argon2 = None if password_hash is None else argon2_parameters(password_hash)
        cost = None if password_hash is None else checkable_bcrypt_cost(password_hash)
        matched = False
        if password_hash is not None and (argon2 is not None or cost is not None):
            matched = self.check(password, password_hash)
        if matched:
            return True
        argon2_done = 0 if argon2 is None else argon2.memory_cost * argon2.time_cost
        self._argon2_top_up(password, self.argon2.work - argon2_done)
        self._bcrypt_top_up(password, cost)
        return False

    def warm_up(self) -> None:
        """Make the bcrypt dummy hashes now, not during the first logins (blocking)."""
        # One per cost up to BCRYPT_ROUNDS: together less work than two hashes at it.
        for cost in range(MIN_COST, self.bcrypt_rounds + 1):
            self._dummy(cost)

    def _argon2_hash(self, password: str) -> str:
        encoded = low_level.hash_secret(
            password.encode("utf-8"),
            secrets.token_bytes(SALT_BYTES),
            time_cost=self.argon2.time_cost,
            memory_cost=self.argon2.memory_kib,
            parallelism=self.argon2.parallelism,
            hash_len=HASH_BYTES,
            type=Type.ID,
        )
        return encoded.decode("ascii")

    @staticmethod
    def _argon2_check(password: str, password_hash: str, kind: Type) -> bool:
        try:
            return low_level.verify_secret(
                password_hash.encode("ascii"), password.encode("utf-8"), kind
            )
        except (VerificationError, InvalidHashError, ValueError):
            return False

    def _argon2_top_up(self, password: str, blocks: int) -> None:
        # Argon2's work is the blocks it fills, memory * passes: the missing blocks in as many
        # passes as the configured ones, over no more memory than the configured hash holds.
        if blocks <= 0:
            return
        passes = self.argon2.time_cost
        lanes = self.argon2.parallelism
        memory = max(-(-blocks // passes), MIN_KIB_PER_LANE * lanes)
        low_level.hash_secret_raw(
            password.encode("utf-8"),
            bytes(SALT_BYTES),
            time_cost=passes,
            memory_cost=memory,
            parallelism=lanes,
            hash_len=HASH_BYTES,
            type=Type.ID,
        )

    def _bcrypt_top_up(self, password: str, cost: int | None) -> None:
        # A check at cost c is 2**c rounds of bcrypt's key schedule, and
        # 2**c + (2**c + 2**(c+1) + ... + 2**(r-1)) = 2**r: dummy checks at costs c .. r-1
        # top a check at cost c up to one at BCRYPT_ROUNDS (r). No bcrypt check at all gets
        # the full dummy check at r.
        r = self.bcrypt_rounds
        for dummy_cost in range(r, r + 1) if cost is None else range(cost, r):
            bcrypt.checkpw(bcrypt_input(password), self._dummy(dummy_cost).encode("ascii"))

    def _dummy(self, cost: int) -> str:
        # Runs in a hash thread; two threads racing here both make a valid dummy.
        dummy = self._dummies.get(cost)
        if dummy is None:
            salt = bcrypt.gensalt(cost)
            dummy = bcrypt.hashpw(bcrypt_input(secrets.token_urlsafe(16)), salt).decode("ascii")
            self._dummies[cost] = dummy
        return dummy
