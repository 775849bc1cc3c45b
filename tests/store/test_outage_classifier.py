"""One rule tells an outage from a refused statement, on asyncpg's path and SQLAlchemy's."""

from __future__ import annotations

import sqlite3

import asyncpg
import pytest
from sqlalchemy import exc

from authapi.store.sql.outage import is_outage

# asyncpg's own errors, as the hot statements meet them.
ASYNCPG_ERRORS = [
    (asyncpg.exceptions.ConnectionDoesNotExistError("closed mid-operation"), True),
    (asyncpg.exceptions.AdminShutdownError("terminating connection"), True),
    (asyncpg.exceptions.CannotConnectNowError("starting up"), True),
    (asyncpg.exceptions.TooManyConnectionsError("too many clients"), True),
    (asyncpg.InterfaceError("connection is closed"), True),
    (asyncpg.InterfaceError("another operation is in progress"), True),
    # A backend that died between prepare and execute leaves the protocol mid-error.
    (
        asyncpg.InternalClientError(
            "cannot switch to state 12; another operation (2) is in progress"
        ),
        True,
    ),
    (asyncpg.exceptions._base.ProtocolError("unexpected message"), True),
    (asyncpg.exceptions.PostgresSyntaxError("syntax error"), False),
    (asyncpg.exceptions.UndefinedColumnError("no such column"), False),
    (asyncpg.exceptions.UniqueViolationError("duplicate key"), False),
    (asyncpg.exceptions.DataError("bad input"), False),
    (asyncpg.exceptions.DeadlockDetectedError("deadlock detected"), False),
    (asyncpg.exceptions._base.DataError("an argument of the wrong type"), False),
]
# What a socket or a timer raises, on either path.
OTHER_ERRORS = [
    (ConnectionRefusedError(), True),
    (TimeoutError(), True),
    (ValueError("not a database error"), False),
]


@pytest.mark.parametrize(("error", "outage"), ASYNCPG_ERRORS + OTHER_ERRORS)
def test_an_error_is_an_outage_only_when_the_database_is_out_of_reach(
    error: Exception, outage: bool
) -> None:
    assert is_outage(error) is outage


@pytest.mark.parametrize(("error", "outage"), ASYNCPG_ERRORS)
def test_the_same_errors_through_sqlalchemy_get_the_same_answer(
    error: Exception, outage: bool
) -> None:
    assert is_outage(through_sqlalchemy(error)) is outage


def test_a_refused_statement_that_closed_its_connection_is_an_outage() -> None:
    refused = asyncpg.exceptions.UniqueViolationError("duplicate key")
    assert is_outage(refused, connection_closed=True)
    assert is_outage(through_sqlalchemy(refused, invalidated=True))


@pytest.mark.parametrize(
    ("error", "outage"),
    [
        (exc.OperationalError("INSERT", {}, sqlite3.OperationalError("database is locked")), True),
        (exc.IntegrityError("INSERT", {}, sqlite3.IntegrityError("UNIQUE failed")), False),
        (exc.ProgrammingError("SELECT", {}, sqlite3.ProgrammingError("bad parameters")), False),
    ],
)
def test_sqlites_errors_are_told_apart_by_their_class(error: Exception, outage: bool) -> None:
    assert is_outage(error) is outage


def through_sqlalchemy(error: Exception, invalidated: bool = False) -> exc.DBAPIError:
    """Wrap an error as SQLAlchemy's asyncpg dialect does: its own DBAPI class, from asyncpg's."""
    try:
        try:
            raise error
        except Exception as driver_error:
            raise RuntimeError(str(driver_error)) from driver_error
    except RuntimeError as dialect_error:
        return exc.DBAPIError("SELECT 1", None, dialect_error, connection_invalidated=invalidated)
