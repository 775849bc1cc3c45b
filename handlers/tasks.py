"""Handlers for the `tasks` tag: each user's own to-do tasks."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from authapi.records import Task

from .caller import claims_of, services
from .replies import NO_STORE, json_reply, no_content, timestamp


async def create_task(body: dict[str, Any], token_info: dict[str, Any]) -> Response:
    """Create a task for the caller."""
    task = await services().tasks.create(
        claims_of(token_info).sub,
        body["title"],
        body.get("description"),
        body.get("completed", False),
    )
    return json_reply(as_json(task), 201, {**NO_STORE, "Location": f"/api/v1/tasks/{task.id}"})


async def list_tasks(
    token_info: dict[str, Any],
    limit: int = 20,
    cursor: str | None = None,
    completed: bool | None = None,
) -> Response:
    """List the caller's tasks, newest first."""
    listing = await services().tasks.list(claims_of(token_info).sub, limit, completed, cursor)
    body = {"items": [as_json(task) for task in listing.items], "next_cursor": listing.next_cursor}
    return json_reply(body, headers=NO_STORE)


async def get_task(task_id: str, token_info: dict[str, Any]) -> Response:
    """Read one of the caller's tasks."""
    task = await services().tasks.get(claims_of(token_info).sub, task_id)
    return json_reply(as_json(task), headers=NO_STORE)


async def replace_task(task_id: str, body: dict[str, Any], token_info: dict[str, Any]) -> Response:
    """Replace one of the caller's tasks."""
    task = await services().tasks.replace(
        claims_of(token_info).sub,
        task_id,
        body["title"],
        body.get("description"),
        body.get("completed", False),
    )
    return json_reply(as_json(task), headers=NO_STORE)


async def update_task(task_id: str, body: dict[str, Any], token_info: dict[str, Any]) -> Response:
    """Change only the given fields of one of the caller's tasks."""
    task = await services().tasks.update(claims_of(token_info).sub, task_id, body)
    return json_reply(as_json(task), headers=NO_STORE)


async def delete_task(task_id: str, token_info: dict[str, Any]) -> Response:
    """Delete one of the caller's tasks."""
    await services().tasks.delete(claims_of(token_info).sub, task_id)
    return no_content()


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
