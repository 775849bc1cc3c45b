"""Records to rows and back, by column name: SQLAlchemy's rows and asyncpg's alike."""

from __future__ import annotations

import dataclasses
from operator import itemgetter
from typing import Any, Protocol

from sqlalchemy import literal
from sqlalchemy.sql.schema import Table

from authapi.records import Session, Task, User
from authapi.store.schema import sessions

SESSION_COLUMNS = tuple(column.name for column in sessions.columns)

# Each reads a record's fields from a row by column name, in the record's own field order.
# The rows' values need no converting: the schema's types read times back aware, in UTC.
_user_values = itemgetter(*(field.name for field in dataclasses.fields(User)))
_session_values = itemgetter(*(field.name for field in dataclasses.fields(Session)))
_task_values = itemgetter(*(field.name for field in dataclasses.fields(Task)))


class Row(Protocol):
    """A result row that gives its columns by name (SQLAlchemy's RowMapping, asyncpg's Record)."""

    def __getitem__(self, name: str, /) -> Any: ...


def user_from(row: Row) -> User:
    """Read a user from a row of `users`."""
    return User(*_user_values(row))


_AMR = [field.name for field in dataclasses.fields(Session)].index("amr")


def session_from(row: Row) -> Session:
    """Read a session from a row with the columns of `sessions`."""
    values = list(_session_values(row))
    values[_AMR] = tuple(values[_AMR].split())
    return Session(*values)


def task_from(row: Row) -> Task:
    """Read a task from a row of `tasks`."""
    return Task(*_task_values(row))


def values_of(record: User | Session | Task) -> dict[str, Any]:
    """Return a record's fields by column name; a tuple (a session's `amr`) is space-separated."""
    return {name: _column_value(getattr(record, name)) for name in type(record).__slots__}


def _column_value(value: Any) -> Any:
    return " ".join(value) if isinstance(value, tuple) else value


def as_literals(table: Table, record: Session | Task) -> list[Any]:
    """Return the record's values as typed SQL literals, for an INSERT ... SELECT.

    Only the record's own columns, in the table's order; the store fills in the others.
    """
    return literals_of(table, values_of(record))


def literals_of(table: Table, values: dict[str, Any]) -> list[Any]:
    """Return a row's values (by column name) as typed, labelled SQL literals, in table order."""
    return [
        literal(values[column.name], column.type).label(column.name)
        for column in table.columns
        if column.name in values
    ]
