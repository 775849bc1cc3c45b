"""IndexedRouter picks the route Starlette's Router picks, and tries only those that can match."""

from __future__ import annotations

import time

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Mount, Route, Router
from starlette.testclient import TestClient

from authapi.web.route_index import IndexedRouter
from tests.apps import app_for
from tests.config import settings_for


def _answer(name: str):  # type: ignore[no-untyped-def]
    async def endpoint(request: Request) -> PlainTextResponse:
        return PlainTextResponse(f"{name} {dict(request.path_params)}")

    return endpoint


def _routes() -> list[Route | Mount]:
    return [
        Route("/tasks", _answer("list"), methods=["GET"]),
        Route("/tasks", _answer("create"), methods=["POST"]),
        Route("/tasks/{task_id}", _answer("read"), methods=["GET"]),
        Route("/tasks/export", _answer("export"), methods=["GET"]),
        Route("/profile", _answer("profile"), methods=["GET"]),
        Route("/items/", _answer("items"), methods=["GET"]),
        Mount("/static", routes=[Route("/a", _answer("static a"))]),
    ]


REQUESTS = [
    ("GET", "/tasks"),
    ("POST", "/tasks"),
    ("DELETE", "/tasks"),
    ("GET", "/tasks/42"),
    # A parameter route listed first wins over the exact path, in both routers.
    ("GET", "/tasks/export"),
    ("GET", "/profile"),
    ("PUT", "/profile"),
    ("GET", "/profile/"),
    ("GET", "/items"),
    ("GET", "/static/a"),
    ("GET", "/nowhere"),
]


@pytest.mark.parametrize(("method", "path"), REQUESTS)
def test_it_answers_every_request_as_starlettes_router_does(method: str, path: str) -> None:
    stock = TestClient(Starlette(routes=_routes()), follow_redirects=False)
    indexed = TestClient(
        Starlette(routes=[Mount("", app=IndexedRouter.replacing(Router(routes=_routes())))]),
        follow_redirects=False,
    )
    expected = stock.request(method, path)
    answered = indexed.request(method, path)
    assert (answered.status_code, answered.text) == (expected.status_code, expected.text)
    assert answered.headers.get("location") == expected.headers.get("location")


def test_a_path_without_parameters_tries_only_its_own_routes_and_those_with_parameters(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    tried: list[str] = []
    original = Route.matches

    def counting(route: Route, scope):  # type: ignore[no-untyped-def]
        tried.append(route.path)
        return original(route, scope)

    monkeypatch.setattr(Route, "matches", counting)
    client = TestClient(
        Starlette(routes=[Mount("", app=IndexedRouter.replacing(Router(_routes())))])
    )
    assert client.get("/profile").text == "profile {}"
    # /tasks/{task_id} comes before /profile and could have matched; no other /tasks route is tried.
    assert tried == ["/tasks/{task_id}", "/profile"]


def test_the_apps_protected_get_is_matched_against_a_few_routes_not_every_operation(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    app = app_for(settings_for(), clock=time.time)
    with TestClient(app) as client:
        _count_the_profiles_routes(client, monkeypatch)


def _count_the_profiles_routes(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    register = {"email": "route.index@example.com", "password": "a long enough passphrase 1"}
    client.post("/api/v1/auth/register", json=register)
    token = client.post("/api/v1/auth/login", json=register).json()["access_token"]
    tried: list[str] = []
    original = Route.matches

    def counting(route: Route, scope):  # type: ignore[no-untyped-def]
        tried.append(route.path)
        return original(route, scope)

    monkeypatch.setattr(Route, "matches", counting)
    answered = client.get("/api/v1/protected/profile", headers={"Authorization": f"Bearer {token}"})
    assert answered.status_code == 200
    # Only routes with parameters (which could match) before the profile's own; the 30-odd
    # operations without parameters listed ahead of it in the spec are never tried.
    assert tried[-1] == "/api/v1/protected/profile"
    assert all("{" in path for path in tried[:-1])
