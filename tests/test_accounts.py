"""Accounts without HTTP: rehash on login, and throttling before any bcrypt work."""

from __future__ import annotations

import pytest

from authapi.accounts import AccountService
from authapi.errors import InvalidCredentials, TooManyRequests
from authapi.records import Peer
from authapi.store import MemoryStore
from authapi.throttle import address_key
from authapi.web.services import Services
from tests.api_moves import PASSWORD
from tests.config import settings_for


def service_with(store: MemoryStore, rounds: int, **settings: object) -> AccountService:
    """Build the accounts' use cases as the app does, on `store`, with bcrypt at `rounds`."""
    config = settings_for(bcrypt_rounds=rounds, **settings)  # type: ignore[arg-type]
    return Services.build(config, store=store).accounts


async def stored_hash(store: MemoryStore) -> str:
    user = await store.get_user_by_email("ada@example.com")
    assert user is not None
    return user.password_hash


async def test_login_rehashes_when_bcrypt_rounds_changed() -> None:
    store = MemoryStore()
    await service_with(store, 4, password_hash="bcrypt").register("ada@example.com", PASSWORD)
    assert (await stored_hash(store)).startswith("$2b$04$")
    await service_with(store, 5, password_hash="bcrypt").login("ada@example.com", PASSWORD)
    assert (await stored_hash(store)).startswith("$2b$05$")
    # still the same password
    await service_with(store, 4, password_hash="bcrypt").login("ada@example.com", PASSWORD)


async def test_login_at_the_same_cost_keeps_the_hash() -> None:
    store = MemoryStore()
    service = service_with(store, 4)
    await service.register("ada@example.com", PASSWORD)
    before = await stored_hash(store)
    await service.login("ada@example.com", PASSWORD)
    assert await stored_hash(store) == before


async def test_locked_address_is_refused_without_bcrypt_work_even_with_the_right_password() -> None:
    store = MemoryStore()
    service = service_with(store, 4, login_max_failures=3)
    stranger = Peer(address="198.51.100.7")
    await service.register("ada@example.com", PASSWORD)
    for _ in range(3):
        with pytest.raises(InvalidCredentials):
            await service.login("ada@example.com", "wrong password!", stranger)
    calls: list[str] = []
    service.hasher.verify_sync = lambda *args: calls.append("bcrypt") or True  # type: ignore[method-assign]
    with pytest.raises(TooManyRequests) as refused:
        await service.login("ADA@example.com", PASSWORD, stranger)
    assert calls == []
    assert 0 < refused.value.retry_after_seconds <= 900


async def test_success_takes_back_its_own_count_and_forgets_no_failure() -> None:
    store = MemoryStore()
    service = service_with(store, 4, login_max_failures=3)
    await service.register("ada@example.com", PASSWORD)
    for _ in range(2):
        with pytest.raises(InvalidCredentials):
            await service.login("ada@example.com", "wrong password!")
    await service.login("ada@example.com", PASSWORD)
    with pytest.raises(InvalidCredentials):
        await service.login("ada@example.com", "wrong password!")
    with pytest.raises(TooManyRequests):
        await service.login("ada@example.com", PASSWORD)


async def test_address_limit_counts_logins_and_registrations_together() -> None:
    service = service_with(MemoryStore(), 4, auth_rate_limit_per_minute=2)
    peer = Peer(address="203.0.113.9")
    await service.register("ada@example.com", PASSWORD, peer)
    await service.login("ada@example.com", PASSWORD, peer)
    with pytest.raises(TooManyRequests):
        await service.login("ada@example.com", PASSWORD, peer)
    await service.login("ada@example.com", PASSWORD, Peer(address="203.0.113.10"))


async def test_zero_disables_the_limits() -> None:
    service = service_with(MemoryStore(), 4, auth_rate_limit_per_minute=0, login_max_failures=0)
    await service.register("ada@example.com", PASSWORD, Peer(address="203.0.113.9"))
    for _ in range(12):
        with pytest.raises(InvalidCredentials):
            await service.login("ada@example.com", "wrong password!", Peer("203.0.113.9"))


async def test_peers_without_an_address_share_one_address_limit() -> None:
    service = service_with(MemoryStore(), 4, auth_rate_limit_per_minute=2)
    await service.register("ada@example.com", PASSWORD)
    await service.login("ada@example.com", PASSWORD)
    with pytest.raises(TooManyRequests):
        await service.login("ada@example.com", PASSWORD, Peer(user_agent="another peer"))


async def test_only_a_successful_login_makes_an_address_familiar() -> None:
    store = MemoryStore()
    service = service_with(store, 4)
    home = Peer(address="192.0.2.10")
    user = await service.register("ada@example.com", PASSWORD, home)
    with pytest.raises(InvalidCredentials):
        await service.login("ada@example.com", "wrong password!", home)
    assert not await store.is_known_address(user.id, address_key(home.address))
    await service.login("ada@example.com", PASSWORD, home)
    assert await store.is_known_address(user.id, address_key(home.address))
    # Nothing is remembered in the clear.
    assert home.address not in repr(store._known_addresses)


async def test_a_peer_without_an_address_never_becomes_familiar() -> None:
    store = MemoryStore()
    service = service_with(store, 4, login_max_failures_per_account=3)
    await service.register("ada@example.com", PASSWORD)
    await service.login("ada@example.com", PASSWORD)  # a success: it takes its count back
    for _ in range(3):
        with pytest.raises(InvalidCredentials):
            await service.login("ada@example.com", "wrong password!")
    # Anyone at all may be behind a missing address: it stays under the account's ceiling.
    with pytest.raises(TooManyRequests) as refused:
        await service.login("ada@example.com", PASSWORD)
    assert 900 < refused.value.retry_after_seconds <= 3600


async def test_a_login_whose_credentials_changed_during_its_password_check_is_refused() -> None:
    store = MemoryStore()
    service = service_with(store, 4)
    user = await service.register("ada@example.com", PASSWORD)
    verify = service.hasher.verify

    async def verify_then_logout_everywhere(password: str, password_hash: str | None) -> bool:
        valid = await verify(password, password_hash)
        await store.revoke_user_sessions(user.id, service.sessions.now())  # lands mid-login
        return valid

    service.hasher.verify = verify_then_logout_everywhere  # type: ignore[method-assign]
    with pytest.raises(InvalidCredentials):
        await service.login("ada@example.com", PASSWORD)
    assert await store.list_sessions(user.id, service.sessions.now()) == []
