"""User enumeration across hash algorithms: a wrong password tells nothing of the account's hash.

After the switch to Argon2id, a dormant account still holds its bcrypt hash until its owner
logs in. A bcrypt check at cost 12 takes some ten times an Argon2id check at OWASP's
minimum, so without padding, timing would single out the accounts that exist (and have not
logged in since the switch). Each login below goes through the app over HTTP; its hashing
work is counted in each algorithm's unit (Argon2 blocks of 1 KiB, bcrypt key-schedule
rounds), never timed.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import bcrypt
import pytest
from argon2 import extract_parameters, low_level
from starlette.testclient import TestClient

from authapi.store import MemoryStore
from authapi.web.app import create_app
from tests.api_moves import Api
from tests.clock import Clock
from tests.config import settings_for

# Cheap, but with room below for older parameters: 64 KiB in 2 passes, 128 blocks.
ARGON2 = {"argon2_memory_kib": 64, "argon2_time_cost": 2}
ROUNDS = 6
WRONG = "not the password at all"
# Who registered under which settings before the app below took over.
ACCOUNTS = {
    "argon2@example.com": {"password_hash": "argon2id", **ARGON2},
    "fewer-passes@example.com": {"password_hash": "argon2id", "argon2_time_cost": 1},
    "less-memory@example.com": {"password_hash": "argon2id", "argon2_memory_kib": 32},
    "bcrypt-era@example.com": {"password_hash": "bcrypt", "bcrypt_rounds": ROUNDS},
    "bcrypt-era-cheaper@example.com": {"password_hash": "bcrypt", "bcrypt_rounds": 4},
}


def serve(store: MemoryStore, clock: Clock, **changes: Any) -> TestClient:
    settings = settings_for(login_max_failures=0, auth_rate_limit_per_minute=0, **changes)
    return create_app(settings, store=store, clock=clock).test_client()


@pytest.fixture
def work(monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    """Count every Argon2 block filled and every bcrypt round run from now on."""
    done = {"argon2": 0, "bcrypt": 0}
    verify_secret, hash_secret_raw, checkpw = (
        low_level.verify_secret,
        low_level.hash_secret_raw,
        bcrypt.checkpw,
    )

    def verify_spy(hash: bytes, secret: bytes, type: Any) -> Any:
        found = extract_parameters(hash.decode())
        done["argon2"] += found.memory_cost * found.time_cost
        return verify_secret(hash, secret, type)

    def raw_spy(secret: bytes, salt: bytes, **cost: Any) -> bytes:
        done["argon2"] += cost["memory_cost"] * cost["time_cost"]
        return hash_secret_raw(secret, salt, **cost)

    def checkpw_spy(password: bytes, hashed_password: bytes) -> bool:
        matched = checkpw(password, hashed_password)
        done["bcrypt"] += 2 ** int(hashed_password.split(b"$")[2])
        return matched

    monkeypatch.setattr(low_level, "verify_secret", verify_spy)
    monkeypatch.setattr(low_level, "hash_secret_raw", raw_spy)
    monkeypatch.setattr(bcrypt, "checkpw", checkpw_spy)
    return done


@pytest.fixture
def after_the_switch(clock: Clock) -> Iterator[Api]:
    """The app at Argon2id, over a store whose accounts were made under other settings."""
    store = MemoryStore()
    for email, made_under in ACCOUNTS.items():
        with serve(store, clock, **made_under) as before:
            assert Api(before).register(email).status_code == 201
    with serve(store, clock, password_hash="argon2id", bcrypt_rounds=ROUNDS, **ARGON2) as client:
        yield Api(client)


def test_a_wrong_password_costs_the_same_work_for_every_account_and_for_none(
    after_the_switch: Api, work: dict[str, int]
) -> None:
    spent = {}
    for email in ["nobody@example.com", *ACCOUNTS]:
        work.update(argon2=0, bcrypt=0)
        assert after_the_switch.login(email, WRONG).status_code == 401
        spent[email] = (work["argon2"], work["bcrypt"])
    # One Argon2id check at the configured parameters plus one bcrypt check at BCRYPT_ROUNDS.
    assert set(spent.values()) == {(64 * 2, 2**ROUNDS)}, spent


def test_a_bcrypt_era_account_answers_a_wrong_password_exactly_as_an_unknown_email(
    after_the_switch: Api,
) -> None:
    def comparable(response: Any) -> tuple[int, bytes, dict[str, str]]:
        headers = dict(response.headers)
        headers.pop("x-request-id")
        return response.status_code, response.content, headers

    unknown = after_the_switch.login("nobody@example.com", WRONG)
    dormant = after_the_switch.login("bcrypt-era@example.com", WRONG)
    assert comparable(dormant) == comparable(unknown)
