"""Handlers for the `health` tag."""

from __future__ import annotations


async def get_health() -> dict[str, str]:
    """Report that the process is up."""
    return {"status": "ok"}
