"""Passwords: the policy, bcrypt's byte limits, and the dummy check for unknown emails.

The bcrypt form of hash (PASSWORD_HASH=bcrypt, and every hash from before Argon2id);
Argon2id and the two side by side are tests/test_password_hashes.py.
"""

from __future__ import annotations

import asyncio

import bcrypt
import pytest

from authapi.errors import InvalidInput
from authapi.password_hashes import Argon2Cost
from authapi.passwords import PasswordHasher, check_password_policy, normalize_password

# Argon2's least: a wrong password's Argon2id share costs next to nothing here.
CHEAP_ARGON2 = Argon2Cost(memory_kib=8, time_cost=1, parallelism=1)


def bcrypt_hasher(rounds: int, **options: object) -> PasswordHasher:
    """Return a hasher that makes bcrypt hashes at `rounds`, with test-grade Argon2id."""
    return PasswordHasher(rounds, algorithm="bcrypt", argon2=CHEAP_ARGON2, **options)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def hasher() -> PasswordHasher:
    return bcrypt_hasher(4, max_workers=2)


@pytest.mark.parametrize(
    ("password", "rule"),
    [
        ("short", "at least 8"),
        ("1234567", "at least 8"),
        ("x" * 129, "at most 128"),
        ("😀" * 129, "at most 128"),
    ],
)
def test_password_outside_the_length_bounds_is_refused(password: str, rule: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        check_password_policy(password, min_length=8)
    assert refused.value.field == "password"
    assert rule in refused.value.rule
    assert password not in str(refused.value)


@pytest.mark.parametrize("password", ["72846193", "x" * 128, "😀" * 128, "pass word"])
def test_password_within_the_bounds_is_accepted(password: str) -> None:
    assert check_password_policy(password, min_length=8) == password


def test_length_is_counted_in_code_points_not_bytes() -> None:
    assert len("😀" * 8) == 8
    assert check_password_policy("😀" * 8, min_length=8)


def test_configured_minimum_length_is_applied() -> None:
    with pytest.raises(InvalidInput):
        check_password_policy("x" * 11, min_length=12)


def test_password_is_nfkc_normalized() -> None:
    assert normalize_password("ｐａｓｓｗｏｒｄ") == "password"
    assert normalize_password("e\u0301tude!!") == "\u00e9tude!!"


def test_hash_round_trips(hasher: PasswordHasher) -> None:
    hashed = hasher.hash_sync("correct horse")
    assert hashed.startswith("$2b$04$")
    assert hasher.verify_sync("correct horse", hashed)
    assert not hasher.verify_sync("correct horsE", hashed)


def test_hash_uses_the_configured_cost() -> None:
    assert bcrypt_hasher(5).hash_sync("x" * 8).startswith("$2b$05$")


def test_emoji_password_of_128_characters_hashes_and_verifies(hasher: PasswordHasher) -> None:
    password = "😀" * 128  # 512 bytes: far past bcrypt's 72
    assert hasher.verify_sync(password, hasher.hash_sync(password))


def test_long_passwords_differing_after_byte_72_do_not_match(hasher: PasswordHasher) -> None:
    common = "a" * 80
    assert not hasher.verify_sync(common + "1", hasher.hash_sync(common + "2"))


def test_nul_only_password_does_not_match_the_empty_password(hasher: PasswordHasher) -> None:
    assert not hasher.verify_sync("", hasher.hash_sync("\x00" * 8))
    assert not hasher.verify_sync("\x00" * 9, hasher.hash_sync("\x00" * 8))


def test_malformed_hash_never_matches(hasher: PasswordHasher) -> None:
    assert not hasher.verify_sync("whatever", "not-a-bcrypt-hash")


def test_async_hash_and_verify_normalize_the_same_way(hasher: PasswordHasher) -> None:
    async def scenario() -> tuple[bool, bool]:
        hashed = await hasher.hash("ｐａｓｓｗｏｒｄ")
        return await hasher.verify("password", hashed), await hasher.verify("passw0rd", hashed)

    assert asyncio.run(scenario()) == (True, False)


@pytest.fixture
def bcrypt_costs(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The cost of every bcrypt check made, in the order made: the work a login spends."""
    costs: list[int] = []
    checkpw = bcrypt.checkpw

    def spy(password: bytes, hashed_password: bytes) -> bool:
        matched = checkpw(password, hashed_password)  # a malformed hash raises, with no work
        costs.append(int(hashed_password.split(b"$")[2]))
        return matched

    monkeypatch.setattr(bcrypt, "checkpw", spy)
    return costs


def work(costs: list[int]) -> int:
    """Units of bcrypt work: a check at cost c runs 2**c rounds of its key schedule."""
    return sum(2**cost for cost in costs)


ROUNDS = 7


def test_unknown_account_still_runs_a_bcrypt_check(bcrypt_costs: list[int]) -> None:
    hasher = bcrypt_hasher(4, max_workers=1)
    assert asyncio.run(hasher.verify("whatever-password", None)) is False
    assert bcrypt_costs == [4]


@pytest.mark.parametrize("stored_cost", [4, 5, 6, 7])
def test_an_account_at_any_cost_up_to_the_configured_one_costs_what_an_unknown_email_does(
    bcrypt_costs: list[int], stored_cost: int
) -> None:
    hasher = bcrypt_hasher(ROUNDS, max_workers=1)
    stored = bcrypt_hasher(stored_cost).hash_sync("the account's password")

    async def scenario() -> tuple[list[int], list[int]]:
        await hasher.warm_up()
        bcrypt_costs.clear()
        await hasher.verify("a wrong guess", None)
        unknown = bcrypt_costs[:]
        bcrypt_costs.clear()
        assert not await hasher.verify("a wrong guess", stored)
        return unknown, bcrypt_costs[:]

    unknown, account = asyncio.run(scenario())
    assert unknown == [ROUNDS]
    # A dormant account's hash predates a raise of BCRYPT_ROUNDS: its check is topped up
    # with dummy checks at costs stored_cost .. ROUNDS-1, whose work adds up exactly.
    assert account[0] == stored_cost
    assert work(account) == work(unknown) == 2**ROUNDS
    assert max(account) <= ROUNDS


def test_an_old_cost_account_still_accepts_its_password_without_top_up(
    bcrypt_costs: list[int],
) -> None:
    hasher = bcrypt_hasher(6, max_workers=1)
    stored = bcrypt_hasher(4).hash_sync("the account's password")
    assert asyncio.run(hasher.verify("the account's password", stored)) is True
    # A right password is answered as one: its time has nothing left to hide.
    assert bcrypt_costs == [4]


@pytest.mark.parametrize(
    "stored", ["not-a-bcrypt-hash", "$2b$05$short", "$2b$03$" + "a" * 53, "", "$2b$99$x"]
)
def test_a_malformed_stored_hash_costs_a_full_check_and_never_matches(
    bcrypt_costs: list[int], stored: str
) -> None:
    hasher = bcrypt_hasher(6, max_workers=1)
    assert asyncio.run(hasher.verify("whatever", stored)) is False
    assert work(bcrypt_costs) == 2**6


def test_dummy_hashes_are_made_at_warm_up_not_during_a_login(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    hasher = bcrypt_hasher(6, max_workers=1)
    stored = bcrypt_hasher(4).hash_sync("the account's password")
    salts: list[int] = []
    gensalt = bcrypt.gensalt

    def counting(rounds: int = 12, prefix: bytes = b"2b") -> bytes:
        salts.append(rounds)
        return gensalt(rounds, prefix)

    async def scenario() -> None:
        await hasher.warm_up()
        monkeypatch.setattr(bcrypt, "gensalt", counting)
        await hasher.verify("a wrong guess", None)
        await hasher.verify("a wrong guess", stored)

    asyncio.run(scenario())
    # Making a dummy hash mid-login would make the first login at each cost the slower one.
    assert salts == []


def test_hash_that_cannot_start_in_time_is_shed() -> None:
    from authapi.errors import Overloaded

    depths: list[int] = []
    slow = bcrypt_hasher(
        12, max_workers=1, queue_timeout=0.05, on_wait=lambda depth, waited: depths.append(depth)
    )

    async def scenario() -> list[object]:
        return await asyncio.gather(
            slow.hash("first password"), slow.hash("second password"), return_exceptions=True
        )

    first, second = asyncio.run(scenario())
    assert isinstance(first, str)
    assert isinstance(second, Overloaded)
    # The first took the free thread at once; only the second ever waited for it.
    assert max(depths) == 1
    slow.close()
