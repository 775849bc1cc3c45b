"""/api/v1/tasks: CRUD, per-user isolation, pagination and validation."""

from __future__ import annotations

import base64
import json
import uuid

import pytest

from tests.api_moves import Account, Api
from tests.backends import decided_before_the_store


@pytest.fixture
def ada(api: Api) -> Account:
    return api.account("ada@example.com")


@pytest.fixture
def bob(api: Api) -> Account:
    return api.account("bob@example.com")


def create(api: Api, who: Account, **fields: object) -> dict:
    response = api.client.post(
        "/api/v1/tasks", json={"title": "Buy milk", **fields}, headers=who.headers
    )
    assert response.status_code == 201, response.text
    return response.json()


def test_created_task_is_returned_with_its_location(api: Api, ada: Account) -> None:
    response = api.client.post(
        "/api/v1/tasks",
        json={"title": "  Buy milk  ", "description": "2 litres"},
        headers=ada.headers,
    )
    assert response.status_code == 201
    task = response.json()
    assert response.headers["location"] == f"/api/v1/tasks/{task['id']}"
    assert task["title"] == "Buy milk"
    assert task["description"] == "2 litres"
    assert task["completed"] is False
    assert task["created_at"] == task["updated_at"]


def test_task_is_read_back(api: Api, ada: Account) -> None:
    task = create(api, ada, completed=True)
    response = api.client.get(f"/api/v1/tasks/{task['id']}", headers=ada.headers)
    assert response.status_code == 200
    assert response.json() == task


def test_put_replaces_every_field(api: Api, ada: Account) -> None:
    task = create(api, ada, description="old", completed=True)
    response = api.client.put(
        f"/api/v1/tasks/{task['id']}", json={"title": "New title"}, headers=ada.headers
    )
    assert response.status_code == 200
    replaced = response.json()
    assert (replaced["title"], replaced["description"], replaced["completed"]) == (
        "New title",
        None,
        False,
    )
    assert replaced["created_at"] == task["created_at"]
    assert replaced["updated_at"] >= task["updated_at"]


def test_patch_changes_only_the_given_fields(api: Api, ada: Account) -> None:
    task = create(api, ada, description="keep me")
    response = api.client.patch(
        f"/api/v1/tasks/{task['id']}", json={"completed": True}, headers=ada.headers
    )
    assert response.status_code == 200
    patched = response.json()
    assert patched["completed"] is True
    assert patched["title"] == task["title"]
    assert patched["description"] == "keep me"


def test_delete_removes_the_task(api: Api, ada: Account) -> None:
    task = create(api, ada)
    assert api.client.delete(f"/api/v1/tasks/{task['id']}", headers=ada.headers).status_code == 204
    assert api.client.get(f"/api/v1/tasks/{task['id']}", headers=ada.headers).status_code == 404
    assert api.client.delete(f"/api/v1/tasks/{task['id']}", headers=ada.headers).status_code == 404


def test_list_shows_only_the_callers_tasks_newest_first(
    api: Api, ada: Account, bob: Account
) -> None:
    first, second = create(api, ada, title="first"), create(api, ada, title="second")
    create(api, bob, title="bob's")
    page = api.client.get("/api/v1/tasks", headers=ada.headers).json()
    assert [task["id"] for task in page["items"]] == [second["id"], first["id"]]
    assert page["next_cursor"] is None


@pytest.mark.parametrize("method", ["get", "put", "patch", "delete"])
def test_another_users_task_answers_exactly_as_a_missing_one(
    api: Api, ada: Account, bob: Account, method: str
) -> None:
    task = create(api, ada)
    kwargs = {"json": {"title": "mine now"}} if method in ("put", "patch") else {}
    theirs = getattr(api.client, method)(
        f"/api/v1/tasks/{task['id']}", headers=bob.headers, **kwargs
    )
    missing = getattr(api.client, method)(
        f"/api/v1/tasks/{uuid.uuid4()}", headers=bob.headers, **kwargs
    )
    assert theirs.status_code == missing.status_code == 404
    assert theirs.json() == missing.json()
    unchanged = api.client.get(f"/api/v1/tasks/{task['id']}", headers=ada.headers).json()
    assert unchanged == task


def test_pagination_walks_every_task_once(api: Api, ada: Account) -> None:
    created = [create(api, ada, title=f"task {i}")["id"] for i in range(7)]
    seen: list[str] = []
    cursor = None
    while True:
        query = {"limit": 3} | ({"cursor": cursor} if cursor else {})
        page = api.client.get("/api/v1/tasks", params=query, headers=ada.headers).json()
        seen += [task["id"] for task in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == list(reversed(created))


def test_default_page_size_is_twenty(api: Api, ada: Account) -> None:
    for i in range(21):
        create(api, ada, title=f"task {i}")
    page = api.client.get("/api/v1/tasks", headers=ada.headers).json()
    assert len(page["items"]) == 20
    assert page["next_cursor"] is not None


@pytest.mark.parametrize("completed", [True, False])
def test_list_filters_by_completion(api: Api, ada: Account, completed: bool) -> None:
    done, todo = create(api, ada, completed=True), create(api, ada)
    query = {"completed": str(completed).lower()}
    page = api.client.get("/api/v1/tasks", params=query, headers=ada.headers).json()
    assert [task["id"] for task in page["items"]] == [(done if completed else todo)["id"]]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"limit": 0}, "limit"),
        ({"limit": 101}, "limit"),
        ({"limit": "many"}, "limit"),
        ({"completed": "maybe"}, "completed"),
        ({"cursor": "not-a-cursor"}, "cursor"),
        ({"page": 2}, "page"),
    ],
)
@decided_before_the_store
def test_bad_list_parameters_are_a_400(
    api: Api, ada: Account, query: dict[str, object], field: str
) -> None:
    response = api.client.get("/api/v1/tasks", params=query, headers=ada.headers)
    assert response.status_code == 400
    assert field in response.json()["detail"]


def forged_cursor(created_at: str) -> str:
    raw = json.dumps([created_at, str(uuid.uuid4())]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


@pytest.mark.parametrize(
    "created_at",
    ["0001-01-01T00:00:00+05:00", "9999-12-31T23:59:59-05:00", "0001-01-01T00:00:00+23:59"],
)
def test_forged_cursor_with_a_date_at_the_edge_of_the_calendar_is_a_400(
    api: Api, ada: Account, created_at: str
) -> None:
    query = {"cursor": forged_cursor(created_at)}
    response = api.client.get("/api/v1/tasks", params=query, headers=ada.headers)
    assert response.status_code == 400, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert "cursor" in response.json()["detail"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "title"),
        ({"title": ""}, "title"),
        ({"title": "   "}, "title"),
        ({"title": "x" * 201}, "title"),
        ({"title": "ok", "description": "d" * 2001}, "description"),
        ({"title": "ok", "completed": "yes"}, "completed"),
        ({"title": "ok", "owner": "bob"}, "owner"),
        ({"title": 7}, "title"),
        ({"title": "nul\u0000byte"}, "title"),
        ({"title": "ok", "description": "nul\u0000byte"}, "description"),
    ],
)
@decided_before_the_store
def test_invalid_task_is_a_400_naming_the_field(
    api: Api, ada: Account, body: dict[str, object], field: str
) -> None:
    response = api.client.post("/api/v1/tasks", json=body, headers=ada.headers)
    assert response.status_code == 400
    assert field in response.json()["detail"]


def test_title_is_counted_after_trimming(api: Api, ada: Account) -> None:
    assert create(api, ada, title="  " + "x" * 196 + "  ")["title"] == "x" * 196


@decided_before_the_store
def test_empty_patch_is_a_400(api: Api, ada: Account) -> None:
    task = create(api, ada)
    response = api.client.patch(f"/api/v1/tasks/{task['id']}", json={}, headers=ada.headers)
    assert response.status_code == 400


@pytest.mark.parametrize("task_id", ["not-a-uuid", "1", "%00", "x" * 65, "' OR 1=1 --"])
def test_malformed_task_id_is_a_404_or_400(api: Api, ada: Account, task_id: str) -> None:
    response = api.client.get(f"/api/v1/tasks/{task_id}", headers=ada.headers)
    assert response.status_code in (400, 404)


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/api/v1/tasks"),
        ("post", "/api/v1/tasks"),
        ("get", "/api/v1/tasks/any"),
        ("put", "/api/v1/tasks/any"),
        ("patch", "/api/v1/tasks/any"),
        ("delete", "/api/v1/tasks/any"),
    ],
)
@decided_before_the_store
def test_every_task_route_requires_an_access_token(api: Api, method: str, path: str) -> None:
    kwargs = {"json": {"title": "x"}} if method in ("post", "put", "patch") else {}
    response = getattr(api.client, method)(path, **kwargs)
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")


def test_revoked_session_cannot_touch_tasks(api: Api, ada: Account) -> None:
    task = create(api, ada)
    api.logout(ada.access_token)
    assert api.client.get(f"/api/v1/tasks/{task['id']}", headers=ada.headers).status_code == 401
    assert api.client.get("/api/v1/tasks", headers=ada.headers).status_code == 401


def test_title_limit_applies_after_trimming(api: Api, ada: Account) -> None:
    assert create(api, ada, title="x" * 199 + "  ")["title"] == "x" * 199
    response = api.client.post("/api/v1/tasks", json={"title": "x" * 201}, headers=ada.headers)
    assert response.status_code == 400
    assert "at most 200" in response.json()["detail"]
