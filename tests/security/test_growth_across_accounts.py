"""Growth across accounts: accounts are free, so per-account caps alone bound nothing.

One client that registers account after account, each filled to its caps, must meet a limit:
task writes per user per minute, registrations per client address per day (an IPv6 /64
counts once), and, on the memory store, a ceiling on all users and all tasks (507
`storage-full`) that still serves reads, logins and deletes.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager

from authapi.errors import ConfigError
from authapi.settings import Settings
from tests.api_moves import PASSWORD, Account, Api
from tests.apps import app_for
from tests.backends import BACKENDS, storage_url
from tests.clock import Clock
from tests.config import settings_for

WRITES_PER_MINUTE = 3
REGISTRATIONS_PER_DAY = 3
MAX_USERS = 2
MAX_TASKS = 3
DAY = 86400


@pytest.fixture(params=BACKENDS)
def every_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    # The rate limits count in the store (its atomic `hit`): race them on every store.
    with storage_url(request.param, tmp_path) as url:
        yield url


@contextmanager
def serving(
    clock: Clock, peer: str = "192.0.2.10", store_url: str = "memory://", **settings: Any
) -> Iterator[Api]:
    """Serve an app with these settings to a client whose socket peer is `peer`."""
    app = app_for(settings_for(storage_url=store_url, **settings), clock=clock)
    with app.test_client(client=(peer, 50000)) as client:
        yield Api(client)


def assert_too_many(response: Any, window: int) -> None:
    assert response.status_code == 429, response.text
    assert response.headers["content-type"] == "application/problem+json"
    retry_after = response.headers["retry-after"]
    assert retry_after.isdigit(), retry_after
    assert 1 <= int(retry_after) <= window


def assert_storage_full(response: Any) -> None:
    assert response.status_code == 507, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["type"].endswith("storage-full")
    assert problem["status"] == 507
    assert problem["title"] == "Insufficient Storage"


def new_task(api: Api, account: Account, title: str = "t") -> Any:
    return api.client.post("/api/v1/tasks", headers=account.headers, json={"title": title})


# -- task writes per user ----------------------------------------------------------------


def test_task_writes_past_the_limit_get_429_until_the_minute_is_over(
    clock: Clock, every_store: str
) -> None:
    with serving(clock, store_url=every_store, task_writes_per_minute=WRITES_PER_MINUTE) as api:
        ada = api.account()
        task = new_task(api, ada).json()
        path = f"/api/v1/tasks/{task['id']}"
        # A create, an update and a delete: each is a write, counted alike.
        assert (
            api.client.patch(path, headers=ada.headers, json={"completed": True}).status_code == 200
        )
        assert api.client.delete(path, headers=ada.headers).status_code == 204
        assert_too_many(new_task(api, ada), 60)
        assert_too_many(api.client.delete(path, headers=ada.headers), 60)
        # Reads are not writes.
        assert api.client.get("/api/v1/tasks", headers=ada.headers).status_code == 200
        clock.advance(60)
        assert new_task(api, ada).status_code == 201


def test_one_users_task_writes_never_use_up_anothers(clock: Clock) -> None:
    with serving(clock, task_writes_per_minute=WRITES_PER_MINUTE) as api:
        ada = api.account()
        bob = api.account("bob@example.com")
        for _ in range(WRITES_PER_MINUTE):
            assert new_task(api, ada).status_code == 201
        assert_too_many(new_task(api, ada), 60)
        assert new_task(api, bob).status_code == 201


def test_a_replace_of_a_task_counts_as_one_write(clock: Clock) -> None:
    with serving(clock, task_writes_per_minute=2) as api:
        ada = api.account()
        task = new_task(api, ada).json()
        replaced = api.client.put(
            f"/api/v1/tasks/{task['id']}", headers=ada.headers, json={"title": "again"}
        )
        assert replaced.status_code == 200, replaced.text
        assert_too_many(new_task(api, ada), 60)


def test_zero_task_writes_per_minute_turns_the_limit_off(clock: Clock) -> None:
    with serving(clock, task_writes_per_minute=0) as api:
        ada = api.account()
        assert {new_task(api, ada).status_code for _ in range(30)} == {201}


# -- registrations per client address per day ---------------------------------------------


def test_registrations_past_the_daily_limit_get_429_until_the_day_is_over(
    clock: Clock, every_store: str
) -> None:
    with serving(
        clock, store_url=every_store, registrations_per_address_per_day=REGISTRATIONS_PER_DAY
    ) as api:
        for number in range(REGISTRATIONS_PER_DAY):
            # Minutes apart: the per-minute limit is not what refuses the next one.
            clock.advance(61)
            assert api.register(f"user{number}@example.com").status_code == 201
        clock.advance(61)
        refused = api.register("one.more@example.com")
        assert_too_many(refused, DAY)
        assert int(refused.headers["retry-after"]) > 60
        # Logins from the same address are not registrations.
        assert api.login("user0@example.com").status_code == 200
        clock.advance(DAY)
        assert api.register("one.more@example.com").status_code == 201


def test_refused_registrations_count_toward_the_daily_limit(clock: Clock) -> None:
    with serving(clock, registrations_per_address_per_day=REGISTRATIONS_PER_DAY) as api:
        assert api.register().status_code == 201
        assert api.register().status_code == 409  # a taken email
        assert api.register("bob@example.com", "bob@example.com").status_code == 400  # the policy
        assert_too_many(api.register("carol@example.com"), DAY)


def test_an_ipv6_network_registers_as_one_address(clock: Clock) -> None:
    proxy = "192.0.2.10"
    with serving(
        clock, proxy, registrations_per_address_per_day=2, trusted_proxies=(proxy,)
    ) as api:

        def register(number: int, client: str) -> Any:
            return api.client.post(
                "/api/v1/auth/register",
                json={"email": f"user{number}@example.com", "password": PASSWORD},
                headers={"X-Forwarded-For": client},
            )

        assert register(0, "2001:db8:1:2::1").status_code == 201
        assert register(1, "2001:db8:1:2::ffff").status_code == 201
        assert_too_many(register(2, "2001:db8:1:2:abcd::9"), DAY)
        assert register(3, "2001:db8:1:3::1").status_code == 201


# -- the memory store's ceilings ------------------------------------------------------------


def test_a_registration_past_the_memory_stores_user_ceiling_gets_507(clock: Clock) -> None:
    with serving(clock, memory_store_max_users=MAX_USERS) as api:
        accounts = [api.account(f"user{n}@example.com") for n in range(MAX_USERS)]
        assert_storage_full(api.register("one.more@example.com"))
        # Everyone already in is served: logins, reads, writes.
        for account in accounts:
            login = api.login(account.email)
            assert login.status_code == 200, login.text
            assert api.profile(login.json()["access_token"]).status_code == 200
        assert new_task(api, accounts[0]).status_code == 201
        # Refused, not stored: the email is still free, and logs in as nobody.
        assert api.login("one.more@example.com").status_code == 401


def test_a_task_past_the_memory_stores_task_ceiling_gets_507_and_a_delete_makes_room(
    clock: Clock,
) -> None:
    with serving(clock, memory_store_max_tasks=MAX_TASKS) as api:
        ada = api.account()
        bob = api.account("bob@example.com")
        # The ceiling is on every user's tasks together, far below each one's own cap.
        created = [new_task(api, ada if n % 2 else bob, f"t{n}") for n in range(MAX_TASKS)]
        assert {response.status_code for response in created} == {201}
        assert_storage_full(new_task(api, ada))
        assert_storage_full(new_task(api, bob))
        # Reads, logins and deletes are still served.
        assert api.login().status_code == 200
        listed = api.client.get("/api/v1/tasks", headers=bob.headers)
        assert listed.status_code == 200
        first = listed.json()["items"][0]
        path = f"/api/v1/tasks/{first['id']}"
        assert api.client.get(path, headers=bob.headers).status_code == 200
        assert (
            api.client.patch(path, headers=bob.headers, json={"completed": True}).status_code == 200
        )
        assert api.client.delete(path, headers=bob.headers).status_code == 204
        # Deleting freed room for one, whoever takes it.
        assert new_task(api, ada).status_code == 201
        assert_storage_full(new_task(api, ada))


async def test_parallel_creates_at_the_memory_stores_ceiling_never_pass_it() -> None:
    clock = Clock()
    app = app_for(
        settings_for(memory_store_max_tasks=MAX_TASKS, task_writes_per_minute=0), clock=clock
    )
    async with (
        LifespanManager(app) as manager,
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=manager.app, client=("192.0.2.10", 50000)),
            base_url="http://test",
        ) as client,
    ):
        bearers = []
        for number in range(3):
            credentials = {"email": f"user{number}@example.com", "password": PASSWORD}
            assert (await client.post("/api/v1/auth/register", json=credentials)).is_success
            tokens = (await client.post("/api/v1/auth/login", json=credentials)).json()
            bearers.append({"Authorization": f"Bearer {tokens['access_token']}"})
        created = await asyncio.gather(
            *(
                client.post("/api/v1/tasks", headers=bearers[n % 3], json={"title": f"t{n}"})
                for n in range(MAX_TASKS * 6)
            )
        )
        statuses = sorted(response.status_code for response in created)
        assert statuses == [201] * MAX_TASKS + [507] * (MAX_TASKS * 5)
        kept = 0
        for bearer in bearers:
            listed = await client.get("/api/v1/tasks", headers=bearer)
            kept += len(listed.json()["items"])
        assert kept == MAX_TASKS


def test_the_sql_stores_ignore_the_memory_stores_ceilings(clock: Clock, tmp_path: Path) -> None:
    # A database grows on disk under its operator's quotas: the ceilings are the memory
    # store's, whose growth takes the server's own memory.
    with (
        storage_url("sqlite", tmp_path) as url,
        serving(clock, store_url=url, memory_store_max_users=1, memory_store_max_tasks=1) as api,
    ):
        ada = api.account()
        api.account("bob@example.com")
        assert [new_task(api, ada).status_code for _ in range(2)] == [201, 201]


# -- settings ----------------------------------------------------------------------------


@pytest.mark.parametrize("variable", ["MEMORY_STORE_MAX_USERS", "MEMORY_STORE_MAX_TASKS"])
def test_a_memory_ceiling_of_zero_is_refused_at_startup(variable: str) -> None:
    with pytest.raises(ConfigError, match=variable):
        Settings.from_env({"APP_ENV": "development", variable: "0"}, env_file=None)


@pytest.mark.parametrize(
    "variable", ["TASK_WRITES_PER_MINUTE", "REGISTRATIONS_PER_ADDRESS_PER_DAY"]
)
def test_production_refuses_a_growth_limit_turned_off(variable: str) -> None:
    with pytest.raises(ConfigError, match=variable):
        Settings.from_env(
            {
                "APP_ENV": "production",
                "JWT_SECRET_KEY": "x" * 48,
                "METRICS_ENABLED": "false",
                variable: "0",
            },
            env_file=None,
        )


def test_the_growth_limits_have_their_documented_defaults() -> None:
    settings = Settings.from_env({"APP_ENV": "development"}, env_file=None)
    assert settings.task_writes_per_minute == 120
    assert settings.registrations_per_address_per_day == 20
    assert settings.memory_store_max_users == 100_000
    assert settings.memory_store_max_tasks == 1_000_000
