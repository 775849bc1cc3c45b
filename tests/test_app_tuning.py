"""The Connexion adaptations do their work once, and change nothing a client can see."""

from __future__ import annotations

import gc
from typing import Any

import pytest
from connexion.options import SwaggerUIOptions
from connexion.spec import Specification

from authapi import app_tuning
from authapi.app import SPEC_DIR, app_from_env
from authapi.validation import SafeParameterValidator
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


def test_parameter_validators_are_built_once_per_operation(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    account = api.account()
    built: list[Any] = []
    original = SafeParameterValidator.__init__

    def counting(self: Any, *args: Any, **kwargs: Any) -> None:
        built.append(args[0])
        original(self, *args, **kwargs)

    monkeypatch.setattr(SafeParameterValidator, "__init__", counting)
    for _ in range(3):
        assert api.profile(account.access_token).status_code == 200
        listed = api.client.get("/api/v1/tasks", params={"limit": 2}, headers=account.headers)
        assert listed.status_code == 200
    assert len(built) <= 2  # at most once each, on first use


def test_operation_without_input_still_refuses_unknown_query_parameters(api: Api) -> None:
    account = api.account()
    response = api.client.get("/api/v1/protected/profile?debug=1", headers=account.headers)
    assert response.status_code == 400
    assert "debug" in response.json()["detail"]


def test_operation_without_input_still_gets_its_security_context(api: Api) -> None:
    account = api.account()
    assert api.profile(account.access_token).json()["email"] == account.email
    assert api.client.get("/api/v1/protected/profile").status_code == 401


def test_operation_without_body_ignores_a_body_as_before(api: Api) -> None:
    account = api.account()
    response = api.client.request(
        "GET",
        "/api/v1/protected/profile",
        content=b"<not json>",
        headers={**account.headers, "Content-Type": "text/xml"},
    )
    assert response.status_code == 200


def test_body_operations_still_check_content_type_and_body(api: Api) -> None:
    account = api.account()
    wrong_type = api.client.post(
        "/api/v1/tasks",
        content=b"title=x",
        headers={**account.headers, "Content-Type": "application/x-www-form-urlencoded"},
    )
    assert wrong_type.status_code == 415
    invalid = api.client.post("/api/v1/tasks", json={"title": 5}, headers=account.headers)
    assert invalid.status_code == 400


@pytest.mark.parametrize("path", ["/docs/", "/openapi.json", "/docs"])
def test_swagger_ui_and_spec_are_still_served(api: Api, path: str) -> None:
    response = api.client.get(path, follow_redirects=False)
    assert response.status_code in (200, 307)


def test_swagger_ui_middleware_knows_its_paths() -> None:
    middleware = app_tuning.DocsOnlySwaggerUIMiddleware(app=None)  # type: ignore[arg-type]
    middleware.add_api(
        Specification.load(SPEC_DIR / "auth.yaml"),
        swagger_ui_options=SwaggerUIOptions(swagger_ui_path="/docs"),
    )
    assert "/openapi.json" in middleware._prefixes
    assert any(prefix.startswith("/docs") for prefix in middleware._prefixes)
    assert not any("/api/v1".startswith(prefix) for prefix in middleware._prefixes)


def test_worker_entry_point_freezes_startup_objects_out_of_the_collector(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A full collection walking the spec and validators paused every request for 20-30 ms.
    monkeypatch.setenv("JWT_SECRET_KEY", "s" * 48)
    monkeypatch.setenv("BCRYPT_ROUNDS", "4")
    gc.unfreeze()
    try:
        app_from_env()
        assert gc.get_freeze_count() > 10_000
    finally:
        gc.unfreeze()
