"""The attack suite: the memory store keeps it fast, except where a test asks for every backend.

Fixtures only: a log capture and a bcrypt counter. Raw tokens (those PyJWT refuses to make)
come from tests/forgery.py, the one answer to a refused token from tests/security/refusals.py.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import pytest

from authapi.logs import JsonFormatter
from authapi.passwords import PasswordHasher


@pytest.fixture
def store_url() -> str:
    return "memory://"


@pytest.fixture
def log_lines(app: Any) -> Iterator[list[str]]:
    """Every log line written while the test runs, formatted as the app writes it to stdout."""
    # After `app`: building the app configures logging, which replaces the root's handlers.
    lines: list[str] = []
    formatter = JsonFormatter()

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(formatter.format(record))

    root = logging.getLogger()
    level, handler = root.level, Collect(level=logging.DEBUG)
    # DEBUG is a supported LOG_LEVEL, so the promise must hold there too.
    root.setLevel(logging.DEBUG)
    root.addHandler(handler)
    yield lines
    root.removeHandler(handler)
    root.setLevel(level)


@pytest.fixture
def bcrypt_calls(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Count every bcrypt check the app makes, dummy ones for unknown emails included."""
    calls: list[str] = []
    verify = PasswordHasher.verify_sync

    def spy(self: PasswordHasher, password: str, password_hash: str) -> bool:
        calls.append("verify")
        return verify(self, password, password_hash)

    monkeypatch.setattr(PasswordHasher, "verify_sync", spy)
    return calls
