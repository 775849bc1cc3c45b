"""The Connexion adaptations do their work once, and change nothing a client can see."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest
from connexion.lifecycle import ConnexionRequest
from connexion.options import SwaggerUIOptions
from connexion.spec import Specification
from starlette.testclient import TestClient

from authapi.settings import Settings
from authapi.store import MemoryStore
from authapi.web import app_tuning
from authapi.web.app import SPEC_DIR, app_from_env, create_app
from authapi.web.validation import SafeJSONBodyValidator, SafeParameterValidator
from tests.api_moves import PASSWORD, Api
from tests.apps import app_for
from tests.clock import Clock


@pytest.fixture
def store_url() -> str:
    return "memory://"


@pytest.fixture
def fresh_api(settings: Settings, clock: Clock) -> Iterator[Api]:
    """An app of its own: the shared one did its once-only work in an earlier test."""
    with create_app(settings, validate_responses=True, clock=clock).test_client() as client:
        yield Api(client)


def test_handlers_are_decorated_once_not_per_request(
    fresh_api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    api = fresh_api
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
    fresh_api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    api = fresh_api
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
    assert len(built) == 2  # once each, on first use


@pytest.fixture
def built_body_validators(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The charset of every JSON body validator built from now on, in order."""
    built: list[str] = []
    original = SafeJSONBodyValidator.__init__

    def counting(self: Any, *args: Any, **kwargs: Any) -> None:
        built.append(kwargs["encoding"])
        original(self, *args, **kwargs)

    monkeypatch.setattr(SafeJSONBodyValidator, "__init__", counting)
    return built


def test_body_validators_are_built_once_per_operation_and_media_type(
    fresh_api: Api, built_body_validators: list[str]
) -> None:
    api, built = fresh_api, built_body_validators
    account = api.account()
    for _ in range(3):
        assert api.login(account.email).status_code == 200
        created = api.client.post("/api/v1/tasks", json={"title": "t"}, headers=account.headers)
        assert created.status_code == 201
    # Registration's, login's and task create's, each on first use.
    assert built == ["utf-8"] * 3


def test_a_client_cannot_grow_the_remembered_body_validators(
    fresh_api: Api, built_body_validators: list[str]
) -> None:
    # Each charset a client writes is a key; past the bound, validators are built per request.
    api, built = fresh_api, built_body_validators
    bound = app_tuning.MAX_REMEMBERED_MEDIA_TYPES
    charsets = [f"x-{number}" for number in range(3 * bound)]
    for _ in range(2):
        for charset in charsets:
            response = api.client.post(
                "/api/v1/auth/login",
                content=b'{"email": "nobody@example.com"}',
                headers={"Content-Type": f"application/json;charset={charset}"},
            )
            assert response.status_code == 400
    # The first pass builds one each; the second rebuilds all but the remembered few.
    assert len(built) == len(charsets) + len(charsets) - bound


def test_json_body_operations_are_called_without_parsing_a_form(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    account = api.account()
    forms: list[str] = []
    original = ConnexionRequest.files

    async def counting(self: ConnexionRequest) -> Any:
        forms.append(self.url.path)
        return await original(self)

    monkeypatch.setattr(ConnexionRequest, "files", counting)
    assert api.login(account.email).status_code == 200
    created = api.client.post("/api/v1/tasks", json={"title": "t"}, headers=account.headers)
    assert created.json()["title"] == "t"
    assert forms == []


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


# -- the fence: the tuned app answers exactly as stock Connexion does ----------------------

TASK = "7d9f3c2e-0000-4000-8000-000000000000"
# Headers that differ between any two answers, whichever app gives them.
VOLATILE_HEADERS = {"x-request-id", "date"}
# (method, path, body as JSON or raw bytes, extra headers, whether to send the token)
PARITY_TABLE: list[tuple[str, str, Any, dict[str, str], bool]] = [
    ("GET", "/api/v1/protected/profile", None, {}, True),
    ("GET", "/api/v1/protected/profile", None, {}, False),
    ("GET", "/api/v1/protected/profile", None, {"Authorization": "Bearer not.a.token"}, False),
    ("GET", "/api/v1/protected/profile", None, {"Authorization": "Basic YTpi"}, False),
    ("GET", "/api/v1/protected/profile?unknown=1", None, {}, True),
    ("GET", "/api/v1/tasks", None, {}, True),
    ("GET", "/api/v1/tasks?limit=abc", None, {}, True),
    ("GET", "/api/v1/tasks?limit=0", None, {}, True),
    ("GET", "/api/v1/tasks?completed=maybe", None, {}, True),
    ("GET", "/api/v1/tasks?cursor=forged", None, {}, True),
    ("GET", f"/api/v1/tasks/{TASK}", None, {}, True),
    ("GET", f"/api/v1/tasks/{'x' * 40}", None, {}, True),
    ("GET", "/api/v1/tasks", None, {}, False),
    ("PATCH", f"/api/v1/tasks/{TASK}", {"completed": True}, {}, True),
    ("PATCH", f"/api/v1/tasks/{TASK}", {"completed": "yes"}, {}, True),
    ("POST", "/api/v1/tasks", {"title": 5}, {}, True),
    ("POST", "/api/v1/tasks", {"title": "x", "extra": 1}, {}, True),
    ("POST", "/api/v1/tasks", b"title=x", {"Content-Type": "text/plain"}, True),
    ("POST", "/api/v1/tasks", b"{not json", {"Content-Type": "application/json"}, True),
    ("POST", "/api/v1/auth/login", {"email": "ada@example.com", "password": "wrong!"}, {}, False),
    ("POST", "/api/v1/auth/login", {"email": "ada@example.com"}, {}, False),
    ("POST", "/api/v1/auth/login", None, {}, False),
    # Operations whose only input is a JSON body take the short decorator.
    ("POST", "/api/v1/auth/login", b'{"email": "ada@example.com", "password": "x"}', {}, False),
    (
        "POST",
        "/api/v1/auth/login",
        b'{"email": "ada@example.com", "password": "wrong!"}',
        {"Content-Type": "application/json; charset=utf-8"},
        False,
    ),
    ("POST", "/api/v1/auth/login", b"null", {"Content-Type": "application/json"}, False),
    ("POST", "/api/v1/auth/login?debug=1", {"email": "ada@example.com"}, {}, False),
    ("POST", "/api/v1/auth/logout", {"refresh_token": "garbage"}, {}, False),
    ("POST", "/api/v1/tasks", {"title": ""}, {}, True),
    (
        "POST",
        "/api/v1/auth/register",
        {"email": "ada@example.com", "password": PASSWORD},
        {},
        False,
    ),
    ("POST", "/api/v1/auth/register", {"email": "not an email", "password": PASSWORD}, {}, False),
    ("POST", "/api/v1/auth/refresh", {"refresh_token": "garbage"}, {}, False),
    ("POST", "/api/v1/auth/logout-all", None, {}, False),
    ("GET", "/api/v1/auth/sessions?limit=1", None, {}, True),
    ("DELETE", f"/api/v1/auth/sessions/{TASK}", None, {}, True),
    ("DELETE", "/api/v1/auth/login", None, {}, False),
    ("OPTIONS", "/api/v1/tasks", None, {}, False),
    ("GET", "/api/v1/nothing-here", None, {}, False),
    ("GET", "/.well-known/jwks.json", None, {}, False),
    ("GET", "/health", None, {}, False),
    ("GET", "/health?verbose=1", None, {}, False),
    ("GET", "/openapi.json", None, {}, False),
    ("GET", "/docs/", None, {}, False),
    ("GET", "/docs/swagger-ui.css", None, {}, False),
]


@pytest.fixture
def stock_and_tuned(settings: Settings, clock: Clock) -> Iterator[tuple[TestClient, TestClient]]:
    """The stock and the tuned app over one store, so that one account works in both."""
    store = MemoryStore()
    stock = app_for(replace(settings, connexion_tuning=False), store=store, clock=clock)
    tuned = app_for(settings, store=store, clock=clock)
    assert not isinstance(stock, app_tuning.DecorateOnceAsyncApp)
    assert isinstance(tuned, app_tuning.DecorateOnceAsyncApp)
    with stock.test_client() as stock_client, tuned.test_client() as tuned_client:
        yield stock_client, tuned_client


def _answer(
    client: TestClient, request: tuple[str, str, Any, dict[str, str], bool], token: str
) -> Any:
    method, path, body, headers, with_token = request
    headers = {**headers, **({"Authorization": f"Bearer {token}"} if with_token else {})}
    raw = body if isinstance(body, bytes) else None
    response = client.request(
        method, path, headers=headers, content=raw, json=None if raw is not None else body
    )
    kept = sorted((k, v) for k, v in response.headers.items() if k not in VOLATILE_HEADERS)
    return response.status_code, kept, response.content


@pytest.mark.parametrize("request_", PARITY_TABLE, ids=lambda r: f"{r[0]} {r[1]}")
def test_tuned_app_answers_exactly_as_stock_connexion(
    stock_and_tuned: tuple[TestClient, TestClient], request_: Any
) -> None:
    stock, tuned = stock_and_tuned
    Api(stock).register()
    token = Api(stock).login().json()["access_token"]
    assert _answer(tuned, request_, token) == _answer(stock, request_, token), (
        "tuned differs from stock"
    )
