"""Handlers for the `tasks` tag: each user's own to-do tasks."""

from __future__ import annotations

from typing import Any

from connexion import request

from authapi.store.base import Task
from authapi.tasks import TaskService
from handlers.context import JSON_NO_STORE, claims_of, timestamp

Reply = tuple[dict[str, Any], int, dict[str, str]]


def _tasks() -> TaskService:
    service: TaskService = request.state.tasks
    return service


async def create_task(body: dict[str, Any], token_info: dict[str, Any]) -> Reply:
    """Create a task for the caller."""
    task = await _tasks().create(
        claims_of(token_info).sub,
        body["title"],
        body.get("description"),
        body.get("completed", False),
    )
    return as_json(task), 201, {**JSON_NO_STORE, "Location": f"/api/v1/tasks/{task.id}"}


async def list_tasks(
    token_info: dict[str, Any],
    limit: int = 20,
    cursor: str | None = None,
    completed: bool | None = None,
) -> Reply:
    """List the caller's tasks, newest first."""
    listing = await _tasks().list(claims_of(token_info).sub, limit, completed, cursor)
    body = {"items": [as_json(task) for task in listing.items], "next_cursor": listing.next_cursor}
    return body, 200, JSON_NO_STORE


async def get_task(task_id: str, token_info: dict[str, Any]) -> Reply:
    """Read one of the caller's tasks."""
    return as_json(await _tasks().get(claims_of(token_info).sub, task_id)), 200, JSON_NO_STORE


async def replace_task(task_id: str, body: dict[str, Any], token_info: dict[str, Any]) -> Reply:
    """Replace one of the caller's tasks."""
    task = await _tasks().replace(
        claims_of(token_info).sub,
        task_id,
        body["title"],
        body.get("description"),
        body.get("completed", False),
    )
    return as_json(task), 200, JSON_NO_STORE


async def update_task(task_id: str, body: dict[str, Any], token_info: dict[str, Any]) -> Reply:
    """Change only the given fields of one of the caller's tasks."""
    task = await _tasks().update(claims_of(token_info).sub, task_id, body)
    return as_json(task), 200, JSON_NO_STORE


async def delete_task(task_id: str, token_info: dict[str, Any]) -> tuple[None, int]:
    """Delete one of the caller's tasks."""
    await _tasks().delete(claims_of(token_info).sub, task_id)
    return None, 204


def as_json(task: Task) -> dict[str, Any]:
    """Render a task as the spec's Task schema."""
    return {
        "id": task.id,
        "title": task.title,
        "description": task.description,
        "completed": task.completed,
        "created_at": timestamp(task.created_at),
        "updated_at": timestamp(task.updated_at),
    }
