"""Tell an outage (503, try again) from a statement the database refused (a loud error).

One rule for both paths, SQLAlchemy's and asyncpg's own: an error after which the
connection is closed, or in a protocol state nobody knows, means the database is out of
reach for now, and so does a server that is shutting down, out of connection slots, or
too slow to answer. A statement the server refused (its syntax, a constraint, its data)
is a bug or a conflict, and stays loud. A connection that failed in an outage is never
used again: the caller closes it.
"""

from __future__ import annotations

import asyncpg
from asyncpg.exceptions import (
    InsufficientResourcesError,
    OperatorInterventionError,
    PostgresConnectionError,
)
from sqlalchemy.exc import (
    DataError,
    DBAPIError,
    IntegrityError,
    NotSupportedError,
    ProgrammingError,
)

# The server is gone, ended the backend, ran out of slots, or did not answer in time.
_UNREACHABLE = (
    OSError,
    TimeoutError,
    PostgresConnectionError,
    OperatorInterventionError,
    InsufficientResourcesError,
)
# How another driver (SQLite's) reports a refused statement, through SQLAlchemy.
_REFUSED = (ProgrammingError, IntegrityError, DataError, NotSupportedError)
_ASYNCPG_ERRORS = (asyncpg.PostgresError, asyncpg.InterfaceError, asyncpg.InternalClientError)


def is_outage(error: BaseException, connection_closed: bool = False) -> bool:
    """Tell whether `error` means the database is out of reach, not that a statement was wrong."""
    if connection_closed:
        return True
    if isinstance(error, DBAPIError):
        if error.connection_invalidated:
            return True
        # SQLAlchemy's asyncpg dialect raises DBAPI classes of its own, from asyncpg's error.
        cause = error.orig.__cause__ if error.orig is not None else None
        if isinstance(cause, _ASYNCPG_ERRORS):
            return is_outage(cause)
        return not isinstance(error, _REFUSED)
    if isinstance(error, asyncpg.InternalClientError):
        # The protocol is mid-operation, as when a backend dies between prepare and execute.
        return True
    if isinstance(error, asyncpg.InterfaceError):
        # A closed connection, or one busy with another operation; the ValueErrors among
        # them are bad arguments to a statement.
        return not isinstance(error, ValueError)
    return isinstance(error, _UNREACHABLE)
