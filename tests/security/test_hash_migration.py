"""Hash migration: bcrypt-era accounts move to Argon2id at their next right password, once.

The attacks are on the upgrade itself: a wrong password must never rewrite a hash, parallel
logins must not rewrite it twice (or over a newer one), and nobody may be locked out by the
switch. On memory, SQLite and PostgreSQL, since the compare-and-swap is the store's.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from authapi.accounts import AccountService
from authapi.errors import InvalidCredentials, InvalidInput, WrongPassword
from authapi.records import NO_PEER, Session, User
from authapi.sessions import Caller
from authapi.store import Store
from authapi.tokens import Claims
from authapi.web.services import Services
from tests.api_moves import PASSWORD
from tests.backends import BACKENDS, opened_store, storage_url
from tests.clock import Clock
from tests.config import settings_for

EMAIL = "ada@example.com"
RACERS = 12
# Test-grade Argon2id (production refuses it): 8 KiB and one pass, then a bump of each.
ARGON2 = {"argon2_memory_kib": 8, "argon2_time_cost": 1}
MORE_MEMORY = {"argon2_memory_kib": 16, "argon2_time_cost": 1}
MORE_PASSES = {"argon2_memory_kib": 8, "argon2_time_cost": 2}


class CountedStore:
    """The real store, counting the hash swaps asked for and those that took effect."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.attempts = 0
        self.swaps = 0

    async def set_password_hash(
        self, user_id: str, expected_hash: str, new_hash: str, activity: Any = None
    ) -> bool:
        self.attempts += 1
        swapped = await self.store.set_password_hash(user_id, expected_hash, new_hash, activity)
        self.swaps += swapped
        return swapped

    def __getattr__(self, name: str) -> Any:
        return getattr(self.store, name)


@pytest.fixture(params=BACKENDS)
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    with storage_url(request.param, tmp_path) as url:
        yield url


@pytest.fixture
async def store(store_url: str) -> AsyncIterator[CountedStore]:
    async with opened_store(store_url) as opened:
        yield CountedStore(opened)


class Server:
    """The account use cases as one configuration of the app builds them, on a shared store."""

    def __init__(self, store: CountedStore, clock: Clock) -> None:
        self.store, self.clock = store, clock
        self._built: list[Services] = []

    def accounts(self, **settings: Any) -> AccountService:
        config = settings_for(
            login_max_failures=0,
            auth_rate_limit_per_minute=0,
            hash_concurrency=RACERS,
            **settings,
        )
        services = Services.build(config, store=self.store, clock=self.clock)  # type: ignore[arg-type]
        self._built.append(services)
        return services.accounts

    def close(self) -> None:
        for services in self._built:
            services.hasher.close()


@pytest.fixture
def server(store: CountedStore, clock: Clock) -> Iterator[Server]:
    built = Server(store, clock)
    yield built
    built.close()


async def stored_hash(store: CountedStore) -> str:
    user = await store.get_user_by_email(EMAIL)
    assert user is not None
    return user.password_hash


async def bcrypt_era_account(server: Server, rounds: int = 4) -> str:
    """Register Ada under PASSWORD_HASH=bcrypt, as before the switch; return her hash."""
    await server.accounts(password_hash="bcrypt", bcrypt_rounds=rounds).register(EMAIL, PASSWORD)
    before = await stored_hash(server.store)
    assert before.startswith(f"$2b$0{rounds}$")
    return before


async def caller_of(server: Server, user: User) -> Caller:
    """Return Ada as the caller of a live session of hers (a password change keeps it)."""
    now = int(server.clock.now)
    version = user.credential_version
    session = Session(str(uuid.uuid4()), user.id, now, now + 3600, "h", credential_version=version)
    assert await server.store.add_session(session)
    claims = Claims(sub=user.id, sid=session.id, jti="j", type="access", exp=0, iat=0)
    return Caller(claims, user, session)


async def test_a_bcrypt_era_account_logs_in_after_the_switch_and_gets_argon2id(
    server: Server,
) -> None:
    await bcrypt_era_account(server)
    argon2id = server.accounts(password_hash="argon2id", **ARGON2)
    await argon2id.login(EMAIL, PASSWORD)
    upgraded = await stored_hash(server.store)
    assert upgraded.startswith("$argon2id$v=19$m=8,t=1,p=1$")
    assert server.store.swaps == 1
    # Still her password, and now at the configured parameters: no further rehash.
    await argon2id.login(EMAIL, PASSWORD)
    assert await stored_hash(server.store) == upgraded
    assert server.store.swaps == 1


@pytest.mark.parametrize("bump", [MORE_MEMORY, MORE_PASSES], ids=["memory", "passes"])
async def test_a_parameter_bump_rehashes_at_the_next_login(
    server: Server, bump: dict[str, int]
) -> None:
    await server.accounts(**ARGON2).register(EMAIL, PASSWORD)
    await server.accounts(**bump).login(EMAIL, PASSWORD)
    wanted = f"m={bump['argon2_memory_kib']},t={bump['argon2_time_cost']},p=1$"
    assert wanted in await stored_hash(server.store)
    assert server.store.swaps == 1


async def test_a_wrong_password_never_rehashes(server: Server) -> None:
    before = await bcrypt_era_account(server)
    argon2id = server.accounts(password_hash="argon2id", **MORE_MEMORY)
    for guess in ("not the password", PASSWORD + "!", ""):
        with pytest.raises(InvalidCredentials):
            await argon2id.login(EMAIL, guess)
    assert await stored_hash(server.store) == before
    assert server.store.swaps == 0


async def test_parallel_logins_upgrade_the_hash_exactly_once(server: Server) -> None:
    # At cost 8 each check is slow enough that the racers have all read the bcrypt hash
    # before the first of them has checked it, on every store.
    await bcrypt_era_account(server, rounds=8)
    argon2id = server.accounts(password_hash="argon2id", **ARGON2)
    await asyncio.gather(*(argon2id.login(EMAIL, PASSWORD) for _ in range(RACERS)))
    # Several rehashed (the race happened); one swap took effect.
    assert server.store.attempts > 1
    assert server.store.swaps == 1
    upgraded = await stored_hash(server.store)
    assert upgraded.startswith("$argon2id$")
    await argon2id.login(EMAIL, PASSWORD)
    assert await stored_hash(server.store) == upgraded


async def test_a_rehash_never_overwrites_a_hash_changed_meanwhile(server: Server) -> None:
    await bcrypt_era_account(server)
    argon2id = server.accounts(password_hash="argon2id", **ARGON2)
    user = await server.store.get_user_by_email(EMAIL)
    assert user is not None
    # A password change lands between this login's read and its rehash.
    newer = await argon2id.hasher.hash("a newer passphrase")
    assert await server.store.set_password_hash(user.id, user.password_hash, newer)
    await argon2id._rehash_if_due(user, PASSWORD, 0, NO_PEER)
    assert await stored_hash(server.store) == newer


async def test_switching_back_to_bcrypt_rehashes_and_locks_nobody_out(server: Server) -> None:
    await server.accounts(password_hash="argon2id", **ARGON2).register(EMAIL, PASSWORD)
    bcrypt = server.accounts(password_hash="bcrypt")
    await bcrypt.login(EMAIL, PASSWORD)
    assert (await stored_hash(server.store)).startswith("$2b$04$")
    await bcrypt.login(EMAIL, PASSWORD)


async def test_a_password_change_from_a_bcrypt_era_hash_stores_argon2id(server: Server) -> None:
    await bcrypt_era_account(server)
    argon2id = server.accounts(password_hash="argon2id", **ARGON2)
    user = await server.store.get_user_by_email(EMAIL)
    assert user is not None
    caller = await caller_of(server, user)
    await argon2id.change_password(caller, PASSWORD, "a brand new passphrase")
    assert (await stored_hash(server.store)).startswith("$argon2id$")
    await argon2id.login(EMAIL, "a brand new passphrase")


async def test_a_wrong_current_password_never_rehashes(server: Server) -> None:
    before = await bcrypt_era_account(server)
    argon2id = server.accounts(password_hash="argon2id", **ARGON2)
    user = await server.store.get_user_by_email(EMAIL)
    assert user is not None
    caller = await caller_of(server, user)
    with pytest.raises(WrongPassword):
        await argon2id.change_password(caller, "not the password", "a brand new one!")
    assert await stored_hash(server.store) == before
    assert server.store.swaps == 0


async def test_a_right_current_password_upgrades_even_when_the_new_one_is_refused(
    server: Server,
) -> None:
    await bcrypt_era_account(server)
    argon2id = server.accounts(password_hash="argon2id", **ARGON2)
    user = await server.store.get_user_by_email(EMAIL)
    assert user is not None
    caller = await caller_of(server, user)
    with pytest.raises(InvalidInput):
        await argon2id.change_password(caller, PASSWORD, "short")
    assert (await stored_hash(server.store)).startswith("$argon2id$")
    await argon2id.login(EMAIL, PASSWORD)
