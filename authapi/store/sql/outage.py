"""Which database errors mean an outage (503, try again) rather than a wrong statement."""

from __future__ import annotations

from sqlalchemy.exc import (
    DataError,
    DBAPIError,
    IntegrityError,
    NotSupportedError,
    ProgrammingError,
)

# A statement the database refuses is a bug or a conflict, and stays a loud 500 (or the
# caller's own handling, as for a taken email).
_STATEMENT_ERRORS = (ProgrammingError, IntegrityError, DataError, NotSupportedError)


def is_outage(error: BaseException) -> bool:
    """Whether `error` means the database is out of reach, not that a statement was wrong.

    The driver's classes are not enough: asyncpg's "connection was closed in the middle of
    operation" reaches SQLAlchemy as a plain DBAPIError, as does a backend the server ended.
    """
    if isinstance(error, DBAPIError):
        return error.connection_invalidated or not isinstance(error, _STATEMENT_ERRORS)
    return isinstance(error, OSError | TimeoutError)
