"""Under load, a database whose backends keep being ended answers 2xx or 503, never 500.

A real server on PostgreSQL serves profile reads, refreshes and task creates (asyncpg's
hot statements) and logins, session lists and filtered task lists (SQLAlchemy's), from a
few clients at once, while the server ends every backend of its connections again and
again. Only this server's backends are ended: its STORAGE_URL names its connections, and
other tests may share the database. Once the ending stops, every kind of request is served.
"""

from __future__ import annotations

import asyncio
import random
import threading
import uuid
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import requests

from tests.backends import end_the_backends_named, storage_url
from tooling.devserver import running_server

pytestmark = pytest.mark.slow

API = "/api/v1"
PASSWORD = "correct horse battery staple"
CLIENTS = 4
ROUNDS_OF_ENDING = 12
SERVED = {200, 201}
OUTAGE = 503


@dataclass
class Account:
    """One client's account: its latest access token and the refresh tokens it may spend."""

    email: str
    access_token: str = ""
    refresh_tokens: list[str] = field(default_factory=list)

    @property
    def bearer(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.access_token}"}


class Client:
    """Sends every kind of request for one account, and counts the answers by kind."""

    def __init__(self, base_url: str, account: Account) -> None:
        self.base_url = base_url
        self.account = account
        self.http = requests.Session()
        self.answers: Counter[tuple[str, int]] = Counter()
        self.kinds: list[Callable[[], int]] = [
            self.read_profile,
            self.refresh,
            self.create_task,
            self.log_in,
            self.list_sessions,
            self.list_open_tasks,
        ]

    def send_each_kind_once(self) -> list[int]:
        statuses = []
        for kind in self.kinds:
            status = kind()
            self.answers[kind.__name__, status] += 1
            statuses.append(status)
        return statuses

    def log_in(self) -> int:
        response = self.http.post(
            f"{self.base_url}{API}/auth/login",
            json={"email": self.account.email, "password": PASSWORD},
        )
        if response.status_code == 200:
            self.keep(response.json())
        return response.status_code

    def refresh(self) -> int:
        if not self.account.refresh_tokens:
            return self.log_in()
        # Spent even when the answer is a 503: the rotation may have committed before the
        # backend ended, and presenting the token again would rightly be refused as reuse.
        token = self.account.refresh_tokens.pop()
        response = self.http.post(
            f"{self.base_url}{API}/auth/refresh", json={"refresh_token": token}
        )
        if response.status_code == 200:
            self.keep(response.json())
        return response.status_code

    def read_profile(self) -> int:
        url = f"{self.base_url}{API}/protected/profile"
        return self.http.get(url, headers=self.account.bearer).status_code

    def create_task(self) -> int:
        url = f"{self.base_url}{API}/tasks"
        return self.http.post(url, json={"title": "x"}, headers=self.account.bearer).status_code

    def list_sessions(self) -> int:
        url = f"{self.base_url}{API}/auth/sessions"
        return self.http.get(url, headers=self.account.bearer).status_code

    def list_open_tasks(self) -> int:
        url = f"{self.base_url}{API}/tasks?completed=false"
        return self.http.get(url, headers=self.account.bearer).status_code

    def keep(self, tokens: dict[str, str]) -> None:
        self.account.access_token = tokens["access_token"]
        self.account.refresh_tokens.append(tokens["refresh_token"])

    def keep_sending(self, stop: threading.Event) -> None:
        while not stop.is_set():
            self.send_each_kind_once()


async def end_every_backend_repeatedly(application_name: str) -> int:
    pauses = random.Random(15)
    ended = 0
    for _ in range(ROUNDS_OF_ENDING):
        await asyncio.sleep(pauses.uniform(0.1, 0.3))
        ended += await end_the_backends_named(application_name)
    return ended


def test_ended_backends_under_load_are_503s_never_500s_and_then_all_is_served(
    tmp_path: Path,
) -> None:
    application_name = f"auth-api-outage-{uuid.uuid4().hex[:12]}"
    with storage_url("postgresql", tmp_path) as url:
        env = {
            "STORAGE_URL": f"{url}&application_name={application_name}",
            "STORAGE_POOL_SIZE": "4",
            "AUTH_RATE_LIMIT_PER_MINUTE": "0",
            "REGISTRATIONS_PER_ADDRESS_PER_DAY": "0",
            "TASK_WRITES_PER_MINUTE": "0",
            # Every login is a session; none may push out the one a client is using.
            "MAX_SESSIONS_PER_USER": "1000",
        }
        with running_server(env, log_path=tmp_path / "server.log") as base_url:
            clients = [Client(base_url, Account(f"client{n}@example.com")) for n in range(CLIENTS)]
            for client in clients:
                credentials = {"email": client.account.email, "password": PASSWORD}
                assert client.http.post(f"{base_url}{API}/auth/register", json=credentials).ok
                assert client.log_in() == 200

            stop = threading.Event()
            with ThreadPoolExecutor(max_workers=CLIENTS) as pool:
                sending = [pool.submit(client.keep_sending, stop) for client in clients]
                try:
                    ended = asyncio.run(end_every_backend_repeatedly(application_name))
                finally:
                    stop.set()
                for future in sending:
                    future.result()

            # The database is back: a round of every kind of request, for every client, is
            # served in full after at most a few rounds that meet connections ended last.
            served_in_full = False
            for _ in range(10):
                statuses = [s for client in clients for s in client.send_each_kind_once()]
                if set(statuses) <= SERVED:
                    served_in_full = True
                    break

    answers = sum((client.answers for client in clients), Counter())
    statuses: Counter[int] = Counter()
    for (_, status), count in answers.items():
        statuses[status] += count
    assert ended > 0, "no backend was ended"
    assert set(statuses) <= SERVED | {OUTAGE}, dict(answers)
    assert statuses[OUTAGE] > 0, "no request met the outage"
    assert served_in_full, dict(answers)
