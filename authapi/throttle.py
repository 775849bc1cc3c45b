"""Login and registration throttling, with counters kept in the store so workers share them."""

from __future__ import annotations

import hashlib

from authapi.errors import TooManyRequests
from authapi.logs import log_event
from authapi.settings import Settings
from authapi.store.base import Store

ADDRESS_WINDOW_SECONDS = 60


def _key(kind: str, value: str) -> str:
    # Hashed, so counters never store an email or an address in the clear.
    return f"{kind}:{hashlib.sha256(value.encode()).hexdigest()[:64]}"


class Throttle:
    """Refuse with 429 before any bcrypt work once an account or an address is over its limit."""

    def __init__(self, settings: Settings, store: Store) -> None:
        self.max_failures = settings.login_max_failures
        self.failure_window = settings.login_failure_window_seconds
        self.per_minute = settings.auth_rate_limit_per_minute
        self.store = store

    async def admit_address(self, address: str | None, now: int) -> None:
        """Count one login or registration attempt from `address`; refuse past the limit."""
        if not self.per_minute or address is None:
            return
        hits = await self.store.hit(_key("addr", address), ADDRESS_WINDOW_SECONDS, now)
        if hits.count > self.per_minute:
            log_event("throttled", scope="address")
            raise TooManyRequests(hits.resets_at - now)

    async def admit_account(self, account: str, now: int) -> None:
        """Refuse a login for an account with too many recent failures, even a right one."""
        if not self.max_failures:
            return
        hits = await self.store.peek(_key("fail", account), self.failure_window, now)
        if hits.count >= self.max_failures:
            log_event("throttled", scope="account")
            raise TooManyRequests(hits.resets_at - now)

    async def record_failure(self, account: str, now: int) -> None:
        """Count a failed login for the account."""
        if self.max_failures:
            await self.store.hit(_key("fail", account), self.failure_window, now)

    async def record_success(self, account: str) -> None:
        """Forget the account's failures after a successful login."""
        if self.max_failures:
            await self.store.clear(_key("fail", account))
