"""A fresh PostgreSQL schema for one scenario, migrated before and dropped after."""

from __future__ import annotations

import asyncio
import os
import secrets
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import parse_qs, urlsplit

from bench import REPO_ROOT
from bench.harness.servers import PROJECT_ENV

# The database the tests use, at the same variable.
POSTGRES_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")


@contextmanager
def fresh_schema(prefix: str = "bench") -> Iterator[str | None]:
    """Yield a migrated STORAGE_URL in a new schema, or None without PostgreSQL; drop it after."""
    schema = f"{prefix}_{secrets.token_hex(6)}"
    separator = "&" if "?" in POSTGRES_URL else "?"
    storage_url = f"{POSTGRES_URL}{separator}schema={schema}"
    try:
        yield storage_url if _migrate(storage_url) else None
    finally:
        _drop(schema)


def unreachable_note() -> str:
    """Say why a PostgreSQL scenario measured nothing."""
    return f"skipped: PostgreSQL at {POSTGRES_URL} cannot be reached (set TEST_POSTGRES_URL)"


async def connect_to_schema(storage_url: str) -> Any:
    """Open an asyncpg connection whose search path is the schema of `storage_url`."""
    # Imported here: only PostgreSQL scenarios need the driver.
    import asyncpg

    schema = parse_qs(urlsplit(storage_url).query)["schema"][0]
    return await asyncpg.connect(POSTGRES_URL, server_settings={"search_path": schema})


def _migrate(storage_url: str) -> bool:
    completed = subprocess.run(
        [sys.executable, "-m", "authapi", "migrate"],
        cwd=REPO_ROOT,
        env={**os.environ, **PROJECT_ENV, "STORAGE_URL": storage_url},
        capture_output=True,
        check=False,
        timeout=60,
    )
    return completed.returncode == 0


def _drop(schema: str) -> None:
    # Imported here: only PostgreSQL scenarios need the driver.
    import asyncpg

    async def drop() -> None:
        connection = await asyncpg.connect(POSTGRES_URL, timeout=5)
        try:
            # The name is ours (prefix and hex digits), so quoting it is enough.
            await connection.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        finally:
            await connection.close()

    try:
        asyncio.run(drop())
    except (OSError, asyncpg.PostgresError):
        # Unreachable: then nothing was created either.
        return
