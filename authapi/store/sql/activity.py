"""Each user's activity in SQL: the log part of `SqlStore`.

An event is written on the connection of the change it reports, inside that change's
transaction. Each write keeps the user within `ActivityBounds.max_per_user`: on PostgreSQL
in the very statement that writes (a data-modifying WITH), so a login pays one statement
for its event; SQLite has no such WITH, and trims in a second statement of the same
transaction, in the same process.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, text
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from authapi.records import Activity, ActivityPage, ActivityType
from authapi.store.base import ActivityBounds
from authapi.store.schema import activity as events
from authapi.store.sql.engine import Database

_COLUMNS = (
    "id",
    "user_id",
    "type",
    "occurred_at",
    "ip",
    "user_agent",
    "session_id",
    "reason",
    "count",
    "merge_key",
    "factor_id",
)
_VALUES = ", ".join(f":{name}" for name in _COLUMNS)
# A merging event meets the stored one on the unique (user_id, merge_key) and adds one.
_MERGE = (
    " ON CONFLICT (user_id, merge_key) WHERE merge_key IS NOT NULL"
    " DO UPDATE SET count = activity.count + 1"
)
# The trim runs on the statement's snapshot, which holds the rows from before it: the newest
# `max_per_user` - 1 of them stay beside a new row, all `max_per_user` when it merged.
# xmax = 0 tells a row just inserted from one updated by ON CONFLICT.
_PG_WRITE = """
WITH added AS (
    INSERT INTO activity ({columns}) VALUES ({values}){merge}
    RETURNING (xmax = 0) AS inserted
), trimmed AS (
    DELETE FROM activity WHERE user_id = :user_id AND seq <= (
        SELECT seq FROM activity WHERE user_id = :user_id ORDER BY seq DESC LIMIT 1
        OFFSET :max_per_user - (SELECT count(*) FROM added WHERE inserted)
    )
)
SELECT count(*) FROM added
"""
PG_WRITE_SQL = _PG_WRITE.format(columns=", ".join(_COLUMNS), values=_VALUES, merge="")
PG_MERGE_SQL = _PG_WRITE.format(columns=", ".join(_COLUMNS), values=_VALUES, merge=_MERGE)


def values_of(activity: Activity) -> dict[str, Any]:
    """Return an event's fields by column name."""
    return {name: getattr(activity, name) for name in _COLUMNS}


async def write_activity(
    connection: AsyncConnection, activity: Activity, bounds: ActivityBounds
) -> None:
    """Record an event (or merge it) on a connection inside a transaction, within the bound."""
    values = values_of(activity)
    if connection.dialect.name == "postgresql":
        sql = PG_WRITE_SQL if activity.merge_key is None else PG_MERGE_SQL
        await connection.execute(text(sql), {**values, "max_per_user": bounds.max_per_user})
        return
    insert = sqlite_insert(events).values(**values)
    if activity.merge_key is not None:
        insert = insert.on_conflict_do_update(
            index_elements=[events.c.user_id, events.c.merge_key],
            index_where=events.c.merge_key.is_not(None),
            set_={"count": events.c.count + 1},
        )
    await connection.execute(insert)
    # After the insert, which this transaction sees: keep exactly the newest `max_per_user`.
    oldest_kept = (
        select(events.c.seq)
        .where(events.c.user_id == activity.user_id)
        .order_by(events.c.seq.desc())
        .limit(1)
        .offset(bounds.max_per_user)
        .scalar_subquery()
    )
    await connection.execute(
        events.delete().where(events.c.user_id == activity.user_id, events.c.seq <= oldest_kept)
    )


def activity_from(row: Any) -> Activity:
    """Read an event from a row of `activity`."""
    return Activity(**{name: row[name] for name in _COLUMNS})


class SqlActivityStore:
    """Events on the store's database: written by the changes, read a page at a time."""

    # Set by SqlStore, which owns the connections and the bounds.
    _database: Database
    _activity_bounds: ActivityBounds

    async def record_activity(self, activity: Activity) -> None:
        async with self._database.connect(write=True) as connection:
            await write_activity(connection, activity, self._activity_bounds)

    async def list_activity(
        self,
        user_id: str,
        *,
        limit: int,
        type: ActivityType | None = None,
        after: str | None = None,
    ) -> ActivityPage:
        query = (
            select(events)
            .where(events.c.user_id == user_id)
            .order_by(events.c.seq.desc())
            .limit(limit + 1)
        )
        if type is not None:
            query = query.where(events.c.type == type)
        if after is not None:
            # An id of another user's event, or of none, finds no place: NULL, no rows.
            place = (
                select(events.c.seq)
                .where(events.c.id == after, events.c.user_id == user_id)
                .scalar_subquery()
            )
            query = query.where(events.c.seq < place)
        async with self._database.connect() as connection:
            rows = (await connection.execute(query)).mappings().all()
        return ActivityPage(
            items=[activity_from(row) for row in rows[:limit]], more=len(rows) > limit
        )
