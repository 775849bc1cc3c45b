"""Per-user tasks: validation, ownership and opaque pagination cursors."""

from __future__ import annotations

import base64
import binascii
import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from authapi.errors import InvalidInput, NotFound, TooManyTasks
from authapi.records import Task, is_storable
from authapi.store.base import TaskStore
from authapi.throttle import Throttle

MAX_TITLE_LENGTH = 200
MAX_DESCRIPTION_LENGTH = 2000


@dataclass(frozen=True)
class TaskListing:
    """A page of tasks and the cursor of the next page, if there is one."""

    items: list[Task]
    next_cursor: str | None


class TaskService:
    """Create, read, change and delete a user's own tasks; others' tasks do not exist."""

    def __init__(
        self,
        store: TaskStore,
        clock: Callable[[], float] = time.time,
        max_tasks: int | None = None,
        throttle: Throttle | None = None,
    ) -> None:
        self.store = store
        self._clock = clock
        self.max_tasks = max_tasks
        self.throttle = throttle

    def _now(self) -> datetime:
        return datetime.fromtimestamp(self._clock(), UTC)

    async def _admit_write(self, user_id: str) -> None:
        # Before any work: a refused write changes nothing and costs one counter.
        if self.throttle is not None:
            await self.throttle.admit_task_write(user_id, int(self._clock()))

    async def create(
        self, user_id: str, title: str, description: str | None = None, completed: bool = False
    ) -> Task:
        """Add a task for the user, unless she already keeps `max_tasks` of them."""
        await self._admit_write(user_id)
        now = self._now()
        task = Task(
            id=str(uuid.uuid4()),
            user_id=user_id,
            title=_title(title),
            description=_description(description),
            completed=completed,
            created_at=now,
            updated_at=now,
        )
        if not await self.store.add_task(task, self.max_tasks):
            assert self.max_tasks is not None  # only a cap refuses a task
            raise TooManyTasks(self.max_tasks)
        return task

    async def get(self, user_id: str, task_id: str) -> Task:
        """Return the user's task, or raise `NotFound` whether it is missing or someone else's."""
        task = await self.store.get_task(user_id, task_id) if is_storable(task_id) else None
        if task is None:
            raise NotFound("No such task.")
        return task

    async def list(
        self, user_id: str, limit: int, completed: bool | None = None, cursor: str | None = None
    ) -> TaskListing:
        """Return one page of the user's tasks, newest first."""
        before = None if cursor is None else decode_cursor(cursor)
        page = await self.store.list_tasks(user_id, limit=limit, completed=completed, before=before)
        last = page.items[-1] if page.more and page.items else None
        return TaskListing(page.items, None if last is None else encode_cursor(last))

    async def replace(
        self, user_id: str, task_id: str, title: str, description: str | None, completed: bool
    ) -> Task:
        """Replace every field of the user's task."""
        return await self.update(
            user_id, task_id, {"title": title, "description": description, "completed": completed}
        )

    async def update(self, user_id: str, task_id: str, changes: dict[str, Any]) -> Task:
        """Change only the given fields of the user's task."""
        # `replace` comes through here too: one write, counted once.
        await self._admit_write(user_id)
        task = await self.get(user_id, task_id)
        fields: dict[str, Any] = {}
        if "title" in changes:
            fields["title"] = _title(changes["title"])
        if "description" in changes:
            fields["description"] = _description(changes["description"])
        if "completed" in changes:
            fields["completed"] = bool(changes["completed"])
        updated = replace(task, **fields, updated_at=max(self._now(), task.updated_at))
        if not await self.store.update_task(updated):
            raise NotFound("No such task.")
        return updated

    async def delete(self, user_id: str, task_id: str) -> None:
        """Delete the user's task."""
        await self._admit_write(user_id)
        if not is_storable(task_id) or not await self.store.delete_task(user_id, task_id):
            raise NotFound("No such task.")


def encode_cursor(task: Task) -> str:
    """Return an opaque cursor that points just past `task`."""
    raw = json.dumps([task.created_at.isoformat(), task.id]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    """Read a cursor back, or raise naming the parameter."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        created_at, task_id = json.loads(raw)
        moment = datetime.fromisoformat(created_at)
        if moment.tzinfo is None or not isinstance(task_id, str) or not is_storable(task_id):
            raise ValueError
        # Inside the try: an offset that moves year 1 or 9999 out of range overflows here.
        moment = moment.astimezone(UTC)
    except (ValueError, TypeError, OverflowError, binascii.Error, UnicodeDecodeError):
        raise InvalidInput("cursor", "is not a cursor this API issued") from None
    return moment, task_id


def _title(title: str) -> str:
    trimmed = title.strip()
    if not is_storable(trimmed):
        raise InvalidInput("title", "must not contain NUL characters")
    if not trimmed:
        raise InvalidInput("title", "must not be blank")
    if len(trimmed) > MAX_TITLE_LENGTH:
        raise InvalidInput("title", f"must be at most {MAX_TITLE_LENGTH} characters long")
    return trimmed


def _description(description: str | None) -> str | None:
    if description is not None and not is_storable(description):
        raise InvalidInput("description", "must not contain NUL characters")
    if description is not None and len(description) > MAX_DESCRIPTION_LENGTH:
        raise InvalidInput(
            "description", f"must be at most {MAX_DESCRIPTION_LENGTH} characters long"
        )
    return description
