"""The Connexion adaptations do their work once, and change nothing a client can see."""

from __future__ import annotations

from typing import Any

import pytest

from authapi import app_tuning
from tests.conftest import Api


@pytest.fixture
def store_url() -> str:
    return "memory://"


def test_handlers_are_decorated_once_not_per_request(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[Any] = []
    original = app_tuning.DecorateOnceStarletteDecorator.decorate

    def counting(self: Any, function: Any) -> Any:
        calls.append(function)
        return original(self, function)

    monkeypatch.setattr(app_tuning.DecorateOnceStarletteDecorator, "decorate", counting)
    account = api.account()
    for _ in range(5):
        assert api.profile(account.access_token).status_code == 200
    profile_calls = [f for f in calls if f.__name__ == "get_profile"]
    assert len(profile_calls) == 1


def test_bearer_signature_is_inspected_once(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    account = api.account()
    inspected: list[str] = []
    original = app_tuning.BearerHandlerWithFixedSignature._accepts_kwarg

    def counting(func: Any, keyword: str) -> bool:
        inspected.append(keyword)
        return bool(original(func, keyword))

    monkeypatch.setattr(
        app_tuning.BearerHandlerWithFixedSignature, "_accepts_kwarg", staticmethod(counting)
    )
    for _ in range(5):
        assert api.profile(account.access_token).status_code == 200
    assert inspected == []  # the app was built (and inspected) before the patch


def test_tuned_app_still_passes_query_and_path_parameters(api: Api) -> None:
    account = api.account()
    created = api.client.post("/api/v1/tasks", json={"title": "t"}, headers=account.headers)
    task_id = created.json()["id"]
    assert (
        api.client.get(f"/api/v1/tasks/{task_id}", headers=account.headers).json()["id"] == task_id
    )
    page = api.client.get("/api/v1/tasks", params={"limit": 1}, headers=account.headers).json()
    assert len(page["items"]) == 1
