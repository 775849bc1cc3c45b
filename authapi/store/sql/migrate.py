"""Bring a database to the current schema with Alembic, one worker at a time."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, text
from sqlalchemy.ext.asyncio import AsyncEngine

MIGRATIONS_DIR = Path(__file__).resolve().parents[2] / "migrations"
# Any number works; it only has to be the same in every worker that migrates.
_MIGRATION_LOCK_ID = 7_312_024


async def migrate(engine: AsyncEngine, schema: str | None) -> None:
    """Create the schema if it is missing, and upgrade it to the newest migration."""
    async with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            if schema:
                # The URL parser vetted the name, so quoting it is enough.
                await connection.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
            # Workers starting together migrate one at a time.
            await connection.execute(
                text("SELECT pg_advisory_xact_lock(:id)"), {"id": _MIGRATION_LOCK_ID}
            )
        await connection.run_sync(_upgrade_to_head)


def _upgrade_to_head(connection: Connection) -> None:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["connection"] = connection
    command.upgrade(config, "head")
