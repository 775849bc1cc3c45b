"""Password hashes: Argon2id PHC strings, bcrypt still checked, and the work a wrong password costs.

Work is counted, not timed: Argon2 fills memory * passes blocks of 1 KiB, and a bcrypt check
at cost c runs 2**c rounds of its key schedule. A wrong password must cost the same work of
each kind whatever it was checked against.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from typing import Any

import bcrypt
import pytest
from argon2 import extract_parameters, low_level

from authapi.errors import ConfigError
from authapi.password_hashes import Argon2Cost, PasswordHashes
from authapi.settings import Settings
from tests.config import CHEAP_HASHING, PRODUCTION_WEBAUTHN, SECRET

PASSWORD = "the account's password"
# Cheap, yet with room below it for older parameters to top up exactly.
CURRENT = Argon2Cost(memory_kib=64, time_cost=2, parallelism=1)
ROUNDS = 6
STRONG = "s" * 48
# Production also requires the key that seals TOTP secrets.
MFA_KEY = base64.b64encode(b"k" * 32).decode()


def argon2id(cost: Argon2Cost = CURRENT, rounds: int = ROUNDS) -> PasswordHashes:
    return PasswordHashes("argon2id", rounds, cost)


def bcrypt_hashes(rounds: int = ROUNDS, cost: Argon2Cost = CURRENT) -> PasswordHashes:
    return PasswordHashes("bcrypt", rounds, cost)


@dataclass
class Work:
    """The hashing work done, in each algorithm's own unit."""

    argon2_blocks: int = 0
    bcrypt_rounds: int = 0
    argon2_checks: list[str] = field(default_factory=list)

    def totals(self) -> tuple[int, int]:
        return self.argon2_blocks, self.bcrypt_rounds

    def clear(self) -> None:
        self.argon2_blocks = self.bcrypt_rounds = 0
        self.argon2_checks.clear()


@pytest.fixture
def work(monkeypatch: pytest.MonkeyPatch) -> Work:
    """Count the work of every Argon2 and bcrypt computation from now on."""
    done = Work()
    verify_secret, hash_secret_raw, checkpw = (
        low_level.verify_secret,
        low_level.hash_secret_raw,
        bcrypt.checkpw,
    )

    def verify_spy(hash: bytes, secret: bytes, type: Any) -> Any:
        found = extract_parameters(hash.decode())
        done.argon2_blocks += found.memory_cost * found.time_cost
        done.argon2_checks.append(hash.decode())
        return verify_secret(hash, secret, type)

    def raw_spy(secret: bytes, salt: bytes, **cost: Any) -> bytes:
        done.argon2_blocks += cost["memory_cost"] * cost["time_cost"]
        return hash_secret_raw(secret, salt, **cost)

    def checkpw_spy(password: bytes, hashed_password: bytes) -> bool:
        matched = checkpw(password, hashed_password)  # a malformed hash raises, with no work
        done.bcrypt_rounds += 2 ** int(hashed_password.split(b"$")[2])
        return matched

    monkeypatch.setattr(low_level, "verify_secret", verify_spy)
    monkeypatch.setattr(low_level, "hash_secret_raw", raw_spy)
    monkeypatch.setattr(bcrypt, "checkpw", checkpw_spy)
    return done


def test_new_hashes_are_argon2id_phc_strings_with_the_configured_parameters() -> None:
    made = argon2id().make(PASSWORD)
    assert made.startswith("$argon2id$v=19$m=64,t=2,p=1$")
    found = extract_parameters(made)
    assert (found.salt_len, found.hash_len) == (16, 32)


def test_an_argon2id_hash_checks_its_password_and_no_other() -> None:
    hashes = argon2id()
    made = hashes.make(PASSWORD)
    assert hashes.check(PASSWORD, made)
    assert not hashes.check(PASSWORD + "!", made)
    assert hashes.make(PASSWORD) != made  # a fresh salt each time


def test_an_emoji_password_of_128_characters_hashes_and_checks() -> None:
    hashes = argon2id()
    assert hashes.check("😀" * 128, hashes.make("😀" * 128))
    assert not hashes.check("😀" * 127, hashes.make("😀" * 128))


@pytest.mark.parametrize(
    "stored",
    [
        "$argon2id$v=19$m=64,t=2,p=1$bm90IGEgc2FsdA$bm90IGEgaGFzaA",
        "$argon2id$v=19$m=64,t=2,p=1$",
        "$argon2id$v=19$m=99999999999,t=2,p=1$c2FsdHNhbHRzYWx0c2FsdA$" + "A" * 43,
        "$argon2id$v=19$m=64,t=9999,p=1$c2FsdHNhbHRzYWx0c2FsdA$" + "A" * 43,
        "$argon2id$",
        "$argon2é$",
    ],
)
def test_a_malformed_or_outlandish_argon2_hash_never_matches(stored: str) -> None:
    assert not argon2id().check(PASSWORD, stored)
    assert not argon2id().check_evenly(PASSWORD, stored)


def test_either_form_checks_under_either_setting() -> None:
    made_with_argon2id = argon2id().make(PASSWORD)
    made_with_bcrypt = bcrypt_hashes().make(PASSWORD)
    assert made_with_bcrypt.startswith(f"$2b$0{ROUNDS}$")
    for hashes in (argon2id(), bcrypt_hashes()):
        assert hashes.check_evenly(PASSWORD, made_with_argon2id)
        assert hashes.check_evenly(PASSWORD, made_with_bcrypt)


@pytest.mark.parametrize(
    ("made_by", "due"),
    [
        (argon2id(), False),
        (bcrypt_hashes(), True),
        (argon2id(Argon2Cost(32, 2, 1)), True),
        (argon2id(Argon2Cost(64, 1, 1)), True),
        (argon2id(Argon2Cost(64, 2, 2)), True),
        (argon2id(Argon2Cost(128, 3, 1)), True),
    ],
    ids=["current", "bcrypt", "less-memory", "fewer-passes", "more-lanes", "costlier"],
)
def test_argon2id_wants_a_rehash_of_any_other_algorithm_or_parameters(
    made_by: PasswordHashes, due: bool
) -> None:
    assert argon2id().needs_rehash(made_by.make(PASSWORD)) is due


@pytest.mark.parametrize(
    ("made_by", "due"),
    [(bcrypt_hashes(), False), (bcrypt_hashes(rounds=5), True), (argon2id(), True)],
    ids=["same-cost", "other-cost", "argon2id"],
)
def test_bcrypt_wants_a_rehash_of_argon2_and_of_other_costs(
    made_by: PasswordHashes, due: bool
) -> None:
    assert bcrypt_hashes().needs_rehash(made_by.make(PASSWORD)) is due


def stored_hashes() -> dict[str, str | None]:
    """Every kind of stored hash a login can meet (None: an unknown email)."""
    return {
        "unknown email": None,
        "argon2id, current": argon2id().make(PASSWORD),
        "argon2id, less memory": argon2id(Argon2Cost(32, 2, 1)).make(PASSWORD),
        "argon2id, fewer passes": argon2id(Argon2Cost(64, 1, 1)).make(PASSWORD),
        "argon2id, odd blocks": argon2id(Argon2Cost(16, 3, 1)).make(PASSWORD),
        **{f"bcrypt-era, cost {c}": bcrypt_hashes(rounds=c).make(PASSWORD) for c in (4, 5, 6)},
        "malformed": "$2b$03$" + "a" * 53,
    }


@pytest.mark.parametrize("algorithm", ["argon2id", "bcrypt"])
def test_a_wrong_password_costs_the_same_work_whatever_it_was_checked_against(
    work: Work, algorithm: str
) -> None:
    hashes = PasswordHashes(algorithm, ROUNDS, CURRENT)
    hashes.warm_up()
    spent = {}
    for kind, stored in stored_hashes().items():
        work.clear()
        assert not hashes.check_evenly("a wrong guess", stored)
        spent[kind] = work.totals()
    # One Argon2id check at the configured parameters plus one bcrypt check at BCRYPT_ROUNDS.
    assert set(spent.values()) == {(CURRENT.work, 2**ROUNDS)}, spent


def test_a_right_password_is_checked_once_and_not_padded(work: Work) -> None:
    hashes = argon2id()
    hashes.warm_up()
    stored = hashes.make(PASSWORD)
    work.clear()
    assert hashes.check_evenly(PASSWORD, stored)
    assert work.totals() == (CURRENT.work, 0)
    assert work.argon2_checks == [stored]


def test_a_bcrypt_era_account_is_checked_with_bcrypt_and_topped_up_with_argon2id(
    work: Work,
) -> None:
    hashes = argon2id()
    hashes.warm_up()
    stored = bcrypt_hashes(rounds=ROUNDS).make(PASSWORD)
    work.clear()
    assert hashes.check_evenly(PASSWORD, stored)  # right: one bcrypt check, nothing more
    assert work.totals() == (0, 2**ROUNDS)
    work.clear()
    assert not hashes.check_evenly("a wrong guess", stored)
    assert work.totals() == (CURRENT.work, 2**ROUNDS)
    assert work.argon2_checks == []  # the Argon2id share is padding: no hash to check


@pytest.mark.parametrize(
    ("memory_kib", "time_cost"),
    [(47104, 1), (19456, 2), (12288, 3), (9216, 4), (7168, 5), (65536, 3)],
)
def test_production_accepts_each_of_owasps_argon2id_profiles(
    memory_kib: int, time_cost: int
) -> None:
    Settings(
        app_env="production",
        jwt_secret_key=STRONG,
        metrics_token=STRONG,
        mfa_encryption_key=MFA_KEY,
        **PRODUCTION_WEBAUTHN,
        argon2_memory_kib=memory_kib,
        argon2_time_cost=time_cost,
    )


@pytest.mark.parametrize(
    ("memory_kib", "time_cost"),
    [(47103, 1), (19455, 2), (19456, 1), (12287, 3), (7168, 4), (7167, 64)],
)
def test_production_refuses_argon2id_below_owasps_profiles(memory_kib: int, time_cost: int) -> None:
    with pytest.raises(ConfigError, match="ARGON2_MEMORY_KIB and ARGON2_TIME_COST"):
        Settings(
            app_env="production",
            jwt_secret_key=STRONG,
            metrics_token=STRONG,
            mfa_encryption_key=MFA_KEY,
            argon2_memory_kib=memory_kib,
            argon2_time_cost=time_cost,
        )


def test_production_refuses_the_cheap_parameters_the_tests_run_with() -> None:
    with pytest.raises(ConfigError, match="ARGON2_MEMORY_KIB"):
        Settings(
            app_env="production",
            jwt_secret_key=SECRET,
            metrics_token=STRONG,
            mfa_encryption_key=MFA_KEY,
            **CHEAP_HASHING,
        )
    # Development takes them (they keep the suite fast).
    Settings(jwt_secret_key=SECRET, **CHEAP_HASHING)


def test_production_takes_a_low_bcrypt_cost_only_when_bcrypt_makes_no_new_hashes() -> None:
    safe = {
        "app_env": "production",
        "jwt_secret_key": STRONG,
        "metrics_token": STRONG,
        "mfa_encryption_key": MFA_KEY,
        **PRODUCTION_WEBAUTHN,
    }
    Settings(**safe, password_hash="argon2id", bcrypt_rounds=4)  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="BCRYPT_ROUNDS"):
        Settings(**safe, password_hash="bcrypt", bcrypt_rounds=11)  # type: ignore[arg-type]


def test_argon2_memory_must_hold_8_kib_per_lane_everywhere() -> None:
    with pytest.raises(ConfigError, match="ARGON2_MEMORY_KIB must be at least 8 per lane"):
        Settings(jwt_secret_key=SECRET, argon2_memory_kib=15, argon2_parallelism=2)


def test_password_hash_names_one_of_two_algorithms() -> None:
    assert Settings.from_env({"PASSWORD_HASH": "BCRYPT"}, env_file=None).password_hash == "bcrypt"
    assert Settings.from_env({}, env_file=None).password_hash == "argon2id"
    with pytest.raises(ConfigError, match="PASSWORD_HASH must be argon2id or bcrypt"):
        Settings.from_env({"PASSWORD_HASH": "scrypt"}, env_file=None)
