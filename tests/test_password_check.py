"""The one password check: counted before bcrypt, taken back once right, never right too long."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from authapi.errors import TooManyRequests
from authapi.events import Events
from authapi.password_check import PasswordCheck
from authapi.passwords import PasswordHasher
from authapi.records import Peer, User
from authapi.settings import MAX_PASSWORD_LENGTH, Settings
from authapi.store import MemoryStore
from authapi.throttle import Throttle
from tests.api_moves import PASSWORD
from tests.config import SECRET

NOW = 1_700_000_000
EMAIL = "ada@example.com"
STRANGER = Peer(address="198.51.100.7")


@pytest.fixture
def check() -> PasswordCheck:
    settings = Settings(jwt_secret_key=SECRET, bcrypt_rounds=4, login_max_failures=2)
    return PasswordCheck(
        Throttle(settings, MemoryStore(), Events()), PasswordHasher(4, max_workers=1)
    )


async def account(check: PasswordCheck, password: str = PASSWORD) -> User:
    created = datetime.fromtimestamp(NOW, UTC)
    return User(
        id="u-1", email=EMAIL, password_hash=await check.hasher.hash(password), created_at=created
    )


async def test_the_right_password_is_right_and_a_wrong_one_is_not(check: PasswordCheck) -> None:
    ada = await account(check)
    assert await check.verify(EMAIL, ada, PASSWORD, STRANGER, NOW)
    assert not await check.verify(EMAIL, ada, "wrong password!", STRANGER, NOW)


async def test_an_unknown_email_is_never_right(check: PasswordCheck) -> None:
    assert not await check.verify(EMAIL, None, PASSWORD, STRANGER, NOW)


async def test_past_the_limit_the_check_is_refused_before_any_bcrypt_work(
    check: PasswordCheck,
) -> None:
    ada = await account(check)
    for _ in range(2):
        assert not await check.verify(EMAIL, ada, "wrong password!", STRANGER, NOW)
    calls: list[str] = []
    check.hasher.verify_sync = lambda *args: calls.append("bcrypt") or True  # type: ignore[method-assign]
    with pytest.raises(TooManyRequests):
        await check.verify(EMAIL, ada, PASSWORD, STRANGER, NOW)
    assert calls == []


async def test_a_right_password_takes_back_its_own_count_and_no_failure_before_it(
    check: PasswordCheck,
) -> None:
    ada = await account(check)
    for _ in range(3):
        assert await check.verify(EMAIL, ada, PASSWORD, STRANGER, NOW)
    for _ in range(2):
        assert not await check.verify(EMAIL, ada, "wrong password!", STRANGER, NOW)
    with pytest.raises(TooManyRequests):
        await check.verify(EMAIL, ada, PASSWORD, STRANGER, NOW)


async def test_a_password_longer_than_the_policy_allows_is_never_right(
    check: PasswordCheck,
) -> None:
    too_long = "x" * (MAX_PASSWORD_LENGTH + 1)
    # Only the hasher could make this hash: the policy never lets such a password be set.
    ada = await account(check, too_long)
    assert not await check.verify(EMAIL, ada, too_long, STRANGER, NOW)


async def test_a_known_devices_checks_count_on_their_own_budget(check: PasswordCheck) -> None:
    ada = await account(check)
    # The stranger's address is locked for this account...
    for _ in range(2):
        assert not await check.verify(EMAIL, ada, "wrong password!", STRANGER, NOW)
    with pytest.raises(TooManyRequests):
        await check.verify(EMAIL, ada, PASSWORD, STRANGER, NOW)
    # ...and a known device at that very address still gets its own checks, and only those.
    assert await check.verify(EMAIL, ada, PASSWORD, STRANGER, NOW, device_id="phone")
    for _ in range(2):
        assert not await check.verify(EMAIL, ada, "wrong!", STRANGER, NOW, device_id="phone")
    with pytest.raises(TooManyRequests):
        await check.verify(EMAIL, ada, PASSWORD, STRANGER, NOW, device_id="phone")
    assert await check.verify(EMAIL, ada, PASSWORD, STRANGER, NOW, device_id="laptop")


async def test_a_device_id_without_an_account_is_counted_like_any_stranger(
    check: PasswordCheck,
) -> None:
    for _ in range(2):
        assert not await check.verify(EMAIL, None, PASSWORD, STRANGER, NOW, device_id="phone")
    with pytest.raises(TooManyRequests):
        await check.verify(EMAIL, None, PASSWORD, STRANGER, NOW)
