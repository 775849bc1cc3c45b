"""Alembic environment: migrate over the connection that `authapi.store.sql.migrate` hands in."""

from __future__ import annotations

from alembic import context

from authapi.store.schema import metadata

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("Run migrations with `auth-api migrate`, which supplies the connection.")

context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
