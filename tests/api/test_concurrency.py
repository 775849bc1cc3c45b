"""Registration is atomic under concurrent requests."""

from __future__ import annotations

import asyncio

import httpx
import pytest


# Fifty attempts from one address are past the daily registration limit: what is pinned
# here is the store's atomic insert, not the limit (tests/security/test_growth_across_accounts.py).
@pytest.mark.settings(registrations_per_address_per_day=0)
async def test_fifty_concurrent_registrations_of_one_email_give_one_201(
    async_client: httpx.AsyncClient,
) -> None:
    responses = await asyncio.gather(
        *(
            async_client.post(
                "/api/v1/auth/register",
                json={"email": f"{'ADA' if i % 2 else 'ada'}@example.com", "password": "p" * 12},
            )
            for i in range(50)
        )
    )
    statuses = [r.status_code for r in responses]
    assert statuses.count(201) == 1
    assert statuses.count(409) == 49
