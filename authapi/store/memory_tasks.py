"""Each user's tasks in memory: the task part of the default store."""

from __future__ import annotations

import bisect
import dataclasses
import threading
from datetime import datetime

from authapi.errors import StorageFull
from authapi.records import Task, TaskPage

TaskKey = tuple[datetime, str]
# MEMORY_STORE_MAX_TASKS' default: at most 10 KiB each, some 9.5 GiB in all (README).
MAX_TASKS = 1_000_000


class MemoryTaskStore:
    """Keep tasks indexed by user, so a page costs in proportion to that user's tasks."""

    def __init__(self, max_tasks: int = MAX_TASKS) -> None:
        # Every user's tasks together, past which a new one is refused: accounts are free,
        # so a cap per user alone bounds nothing.
        self._max_tasks = max_tasks
        self._tasks: dict[str, Task] = {}
        # Per user, the (created_at, id) of their tasks, sorted: pages are slices of it.
        self._task_keys_by_user: dict[str, list[TaskKey]] = {}
        # Tasks share no state with the other aggregates, so they have a lock of their own.
        self._tasks_lock = threading.Lock()

    async def add_task(self, task: Task, max_tasks: int | None = None) -> bool:
        with self._tasks_lock:
            keys = self._task_keys_by_user.get(task.user_id)
            if max_tasks is not None and keys is not None and len(keys) >= max_tasks:
                return False
            # Under the lock with the insert, and no await between: parallel creates at the
            # ceiling never pass it. Deleting any task makes room again.
            if len(self._tasks) >= self._max_tasks:
                raise StorageFull("tasks")
            if keys is None:
                keys = self._task_keys_by_user[task.user_id] = []
            self._tasks[task.id] = task
            bisect.insort(keys, (task.created_at, task.id))
            return True

    async def get_task(self, user_id: str, task_id: str) -> Task | None:
        task = self._tasks.get(task_id)
        return task if task is not None and task.user_id == user_id else None

    async def list_tasks(
        self,
        user_id: str,
        *,
        limit: int,
        completed: bool | None = None,
        before: tuple[datetime, str] | None = None,
    ) -> TaskPage:
        with self._tasks_lock:
            keys = self._task_keys_by_user.get(user_id, [])
            end = len(keys) if before is None else bisect.bisect_left(keys, before)
            found: list[Task] = []
            # Newest first from the cursor on; one more than the page tells whether more follow.
            for index in range(end - 1, -1, -1):
                task = self._tasks[keys[index][1]]
                if completed is None or task.completed == completed:
                    found.append(task)
                    if len(found) > limit:
                        break
        return TaskPage(items=found[:limit], more=len(found) > limit)

    async def update_task(self, task: Task) -> bool:
        with self._tasks_lock:
            stored = self._tasks.get(task.id)
            if stored is None or stored.user_id != task.user_id:
                return False
            # As in SQL, a task keeps its creation time: its place in the list never moves.
            self._tasks[task.id] = dataclasses.replace(task, created_at=stored.created_at)
            return True

    async def delete_task(self, user_id: str, task_id: str) -> bool:
        with self._tasks_lock:
            task = self._tasks.get(task_id)
            if task is None or task.user_id != user_id:
                return False
            del self._tasks[task_id]
            keys = self._task_keys_by_user[user_id]
            del keys[bisect.bisect_left(keys, (task.created_at, task.id))]
            if not keys:
                del self._task_keys_by_user[user_id]
            return True
