"""The default store: dictionaries in this process, lost on restart."""

from __future__ import annotations

import dataclasses
import threading
from datetime import datetime

from authapi.errors import EmailTaken
from authapi.store.base import Hits, Session, Task, TaskPage, User

# Counters of ended windows are dropped once there are this many keys.
_PRUNE_ABOVE = 10_000


class MemoryStore:
    """Keep users and sessions in memory. Safe for one process, whatever its threads do."""

    def __init__(self) -> None:
        self._users: dict[str, User] = {}
        self._user_ids_by_email: dict[str, str] = {}
        self._sessions: dict[str, Session] = {}
        self._tasks: dict[str, Task] = {}
        self._hits: dict[str, Hits] = {}
        # (user id, hashed address) -> last seen, epoch seconds.
        self._known_addresses: dict[tuple[str, str], int] = {}
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

    async def get_session_and_user(self, session_id: str) -> tuple[Session, User] | None:
        session = self._sessions.get(session_id)
        user = None if session is None else self._users.get(session.user_id)
        return None if session is None or user is None else (session, user)

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

    async def set_password_hash(self, user_id: str, password_hash: str) -> None:
        with self._lock:
            user = self._users.get(user_id)
            if user is not None:
                self._users[user_id] = dataclasses.replace(user, password_hash=password_hash)

    async def list_sessions(self, user_id: str, now: int) -> list[Session]:
        with self._lock:
            live = [s for s in self._sessions.values() if s.user_id == user_id and s.is_live(now)]
        return sorted(live, key=lambda session: (session.created_at, session.id), reverse=True)

    async def revoke_user_sessions(self, user_id: str, now: int, keep: str | None = None) -> int:
        with self._lock:
            doomed = [
                s
                for s in self._sessions.values()
                if s.user_id == user_id and s.id != keep and s.revoked_at is None
            ]
            for session in doomed:
                self._sessions[session.id] = dataclasses.replace(session, revoked_at=now)
            return len(doomed)

    async def count_live_sessions(self, now: int) -> int:
        with self._lock:
            return sum(session.is_live(now) for session in self._sessions.values())

    async def hit(self, key: str, window_seconds: int, now: int) -> Hits:
        with self._lock:
            current = self._current(key, now)
            hits = (
                Hits(current.count + 1, current.resets_at)
                if current is not None
                else Hits(1, now + window_seconds)
            )
            self._hits[key] = hits
            if len(self._hits) > _PRUNE_ABOVE:
                self._hits = {k: v for k, v in self._hits.items() if now < v.resets_at}
            return hits

    async def peek(self, key: str, window_seconds: int, now: int) -> Hits:
        with self._lock:
            return self._current(key, now) or Hits(0, now + window_seconds)

    async def clear(self, key: str) -> None:
        with self._lock:
            self._hits.pop(key, None)

    async def remember_address(self, user_id: str, address_key: str, now: int) -> None:
        with self._lock:
            self._known_addresses[user_id, address_key] = now

    async def is_known_address(self, user_id: str, address_key: str) -> bool:
        return (user_id, address_key) in self._known_addresses

    def _current(self, key: str, now: int) -> Hits | None:
        hits = self._hits.get(key)
        return hits if hits is not None and now < hits.resets_at else None

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
