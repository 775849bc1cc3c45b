"""User enumeration: a login for an unknown email looks, and lasts, like a wrong password."""

from __future__ import annotations

import bcrypt
import pytest
from starlette.testclient import TestClient

from authapi.store import MemoryStore
from authapi.web.app import create_app
from tests.api_moves import PASSWORD, Api
from tests.clock import Clock
from tests.config import settings_for

ROUNDS = 6  # what matters is that both pay it, not its size


def comparable(response: object) -> tuple[int, bytes, dict[str, str]]:
    headers = dict(response.headers)  # type: ignore[attr-defined]
    headers.pop("x-request-id")  # unique per request by design
    return response.status_code, response.content, headers  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    "unknown_email",
    ["nobody@example.com", "NOBODY@example.com", "not-an-email", "ada@example.org"],
)
def test_unknown_email_and_wrong_password_get_identical_answers(
    api: Api, unknown_email: str
) -> None:
    api.register()
    wrong_password = api.login("ada@example.com", "not the password at all")
    unknown = api.login(unknown_email, "not the password at all")
    assert wrong_password.status_code == 401
    assert comparable(unknown) == comparable(wrong_password)


def test_unknown_email_is_locked_out_like_a_real_one(api: Api) -> None:
    api.register()
    answers = {}
    for email in ("ada@example.com", "nobody@example.com"):
        for _ in range(5):
            api.login(email, "not the password at all")
        answers[email] = api.login(email, PASSWORD)
    real, unknown = answers["ada@example.com"], answers["nobody@example.com"]
    assert real.status_code == unknown.status_code == 429
    assert real.json() == unknown.json()
    assert real.headers["retry-after"] == unknown.headers["retry-after"]


def bcrypt_work(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Record the cost of every bcrypt check from now on, dummy checks included."""
    costs: list[int] = []
    checkpw = bcrypt.checkpw

    def spy(password: bytes, hashed_password: bytes) -> bool:
        matched = checkpw(password, hashed_password)
        costs.append(int(hashed_password.split(b"$")[2]))
        return matched

    monkeypatch.setattr(bcrypt, "checkpw", spy)
    return costs


def test_unknown_email_and_wrong_password_cost_the_same_bcrypt_work(
    monkeypatch: pytest.MonkeyPatch, clock: Clock
) -> None:
    # What makes the two last alike is the work, counted here rather than timed: a timing
    # would measure the machine's other load as much as the server.
    with serve(MemoryStore(), ROUNDS, clock) as client:
        api = Api(client)
        assert api.register().status_code == 201
        costs = bcrypt_work(monkeypatch)
        work: dict[str, int] = {}
        for email in ("nobody@example.com", "ada@example.com"):
            costs.clear()
            assert api.login(email, "not the password at all").status_code == 401
            # A check at cost c is 2**c rounds of bcrypt's key schedule.
            work[email] = sum(2**cost for cost in costs)
    assert work["nobody@example.com"] == work["ada@example.com"] == 2**ROUNDS


def serve(store: MemoryStore, rounds: int, clock: Clock, **changes: object) -> TestClient:
    settings = settings_for(
        **changes,
        bcrypt_rounds=rounds,
        login_max_failures=0,
        auth_rate_limit_per_minute=0,
    )
    return create_app(settings, store=store, clock=clock).test_client()


def test_dormant_account_from_before_a_rounds_raise_costs_what_an_unknown_email_does(
    monkeypatch: pytest.MonkeyPatch, clock: Clock
) -> None:
    # Ada registered at cost 4 and has not logged in since BCRYPT_ROUNDS went up to 6.
    store = MemoryStore()
    with serve(store, 4, clock, password_hash="bcrypt") as before_the_raise:
        assert Api(before_the_raise).register().status_code == 201
    work: dict[str, int] = {}
    with serve(store, 6, clock, password_hash="bcrypt") as after_the_raise:
        costs = bcrypt_work(monkeypatch)
        for email in ("nobody@example.com", "ada@example.com"):
            costs.clear()
            assert Api(after_the_raise).login(email, "not the password at all").status_code == 401
            # A check at cost c is 2**c rounds of bcrypt's key schedule.
            work[email] = sum(2**cost for cost in costs)
    assert work["nobody@example.com"] == work["ada@example.com"] == 2**6
