"""Alembic migrations for the SQL stores; `auth-api migrate` or startup applies them."""
