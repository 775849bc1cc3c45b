"""The default store: dictionaries in this process, lost on restart."""

from __future__ import annotations

import dataclasses
import threading
from datetime import datetime

from authapi.errors import EmailTaken
from authapi.store.base import Session, Task, TaskPage, User


class MemoryStore:
    """Keep users and sessions in memory. Safe for one process, whatever its threads do."""

    def __init__(self) -> None:
        self._users: dict[str, User] = {}
        self._user_ids_by_email: dict[str, str] = {}
        self._sessions: dict[str, Session] = {}
        self._tasks: dict[str, Task] = {}
        # The event loop already serializes coroutines; the lock also covers threads.
        self._lock = threading.Lock()

    async def add_user(self, user: User) -> None:
        with self._lock:
            if user.email in self._user_ids_by_email:
                raise EmailTaken()
            self._users[user.id] = user
            self._user_ids_by_email[user.email] = user.id

    async def get_user(self, user_id: str) -> User | None:
        return self._users.get(user_id)

    async def get_user_by_email(self, email: str) -> User | None:
        user_id = self._user_ids_by_email.get(email)
        return None if user_id is None else self._users.get(user_id)

    async def add_session(self, session: Session) -> None:
        with self._lock:
            self._sessions[session.id] = session

    async def get_session(self, session_id: str) -> Session | None:
        return self._sessions.get(session_id)

    async def rotate_refresh(
        self, session_id: str, expected_hash: str, new_hash: str, now: int
    ) -> bool:
        with self._lock:
            session = self._sessions.get(session_id)
            if session is None or not session.is_live(now) or session.refresh_hash != expected_hash:
                return False
            self._sessions[session_id] = dataclasses.replace(
                session, refresh_hash=new_hash, previous_refresh_hash=expected_hash, rotated_at=now
            )
            return True

    async def revoke_session(self, session_id: str, now: int) -> None:
        with self._lock:
            session = self._sessions.get(session_id)
            if session is not None and session.revoked_at is None:
                self._sessions[session_id] = dataclasses.replace(session, revoked_at=now)

    async def add_task(self, task: Task) -> None:
        with self._lock:
            self._tasks[task.id] = task

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
        with self._lock:
            mine = [
                task
                for task in self._tasks.values()
                if task.user_id == user_id
                and (completed is None or task.completed == completed)
                and (before is None or (task.created_at, task.id) < before)
            ]
        mine.sort(key=lambda task: (task.created_at, task.id), reverse=True)
        return TaskPage(items=mine[:limit], more=len(mine) > limit)

    async def update_task(self, task: Task) -> bool:
        with self._lock:
            if self._tasks.get(task.id) is None or self._tasks[task.id].user_id != task.user_id:
                return False
            self._tasks[task.id] = task
            return True

    async def delete_task(self, user_id: str, task_id: str) -> bool:
        with self._lock:
            task = self._tasks.get(task_id)
            if task is None or task.user_id != user_id:
                return False
            del self._tasks[task_id]
            return True

    async def open(self) -> None:
        return None

    async def ping(self) -> None:
        return None

    async def close(self) -> None:
        return None
