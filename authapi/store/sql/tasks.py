"""Each user's tasks in SQL: the task part of `SqlStore`."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import and_, or_, select, update

from authapi.records import Task, TaskPage
from authapi.store.schema import tasks
from authapi.store.sql.engine import Database
from authapi.store.sql.hot import HotStatements, newest_tasks_query, page_from
from authapi.store.sql.rows import task_from


class SqlTaskStore:
    """Tasks on the store's database; the create and the first page are hot statements."""

    # Set by SqlStore, which owns the connections and chose the hot statements.
    _database: Database
    _hot: HotStatements

    async def add_task(self, task: Task, max_tasks: int | None = None) -> bool:
        return await self._hot.add_task(task, max_tasks)

    async def get_task(self, user_id: str, task_id: str) -> Task | None:
        query = select(tasks).where(tasks.c.id == task_id, tasks.c.user_id == user_id)
        async with self._database.connect() as connection:
            row = (await connection.execute(query)).mappings().first()
        return None if row is None else task_from(row)

    async def list_tasks(
        self,
        user_id: str,
        *,
        limit: int,
        completed: bool | None = None,
        before: tuple[datetime, str] | None = None,
    ) -> TaskPage:
        if completed is None and before is None:
            # The first page, unfiltered: what a client asks first and most.
            return await self._hot.first_tasks(user_id, limit)
        query = newest_tasks_query(user_id, limit)
        if completed is not None:
            query = query.where(tasks.c.completed == completed)
        if before is not None:
            created_at, task_id = before
            query = query.where(
                or_(
                    tasks.c.created_at < created_at,
                    and_(tasks.c.created_at == created_at, tasks.c.id < task_id),
                )
            )
        async with self._database.connect() as connection:
            rows = (await connection.execute(query)).mappings().all()
        return page_from(rows, limit)

    async def update_task(self, task: Task) -> bool:
        statement = (
            update(tasks)
            .where(tasks.c.id == task.id, tasks.c.user_id == task.user_id)
            .values(
                title=task.title,
                description=task.description,
                completed=task.completed,
                updated_at=task.updated_at,
            )
        )
        async with self._database.connect(write=True) as connection:
            return (await connection.execute(statement)).rowcount == 1

    async def delete_task(self, user_id: str, task_id: str) -> bool:
        statement = tasks.delete().where(tasks.c.id == task_id, tasks.c.user_id == user_id)
        async with self._database.connect(write=True) as connection:
            return (await connection.execute(statement)).rowcount == 1
