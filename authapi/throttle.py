"""Login and registration throttling, with counters kept in the store so workers share them.

Every password check is counted before bcrypt runs, by the store's atomic `hit`: the count
and the decision are one operation, so parallel guesses cannot all slip past one reading.
A success takes back its own hits, by the store's atomic `unhit` of the window that counted
them, so it never uses up a limit; it never clears a count, which would also forgive every
failure before it, the ones of whoever else shares the address included.
Failures count per (account, peer address), so a stranger's guesses elsewhere never lock
the owner out of an address the account has logged in from; a per-account ceiling over
every other address keeps the total bounded. A login with a device token of the account
(authapi/devices.py) counts per device instead, under neither: the owner's phone gets in
from any network, and a stolen token buys no more guesses than one address would.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

from authapi.errors import TooManyRequests
from authapi.events import Events
from authapi.records import Hits
from authapi.settings import Settings
from authapi.store.base import CounterStore

ADDRESS_WINDOW_SECONDS = 60
ACCOUNT_WINDOW_SECONDS = 3600
REGISTRATION_WINDOW_SECONDS = 86400
TASK_WRITE_WINDOW_SECONDS = 60
# Every peer without an address (a Unix socket, say) shares this one: none goes unlimited.
NO_ADDRESS = "unknown"


def _key(kind: str, value: str) -> str:
    # Hashed, so counters never store an email or an address in the clear.
    return f"{kind}:{hashlib.sha256(value.encode()).hexdigest()[:64]}"


def address_key(address: str | None) -> str:
    """Return the hashed key of a peer's address, the same for every address-less peer."""
    return _key("addr", NO_ADDRESS if address is None else address)


def known_address_key(address: str | None) -> str | None:
    """Return the key under which `address` may be known to an account; None if it never is."""
    # An address-less peer is anyone at all: it never earns an exemption.
    return None if address is None else address_key(address)


def _client_key(address: str | None) -> str:
    return _key("client", NO_ADDRESS if address is None else address)


def _client_pair_key(client_id: str, address: str | None) -> str:
    return _key("clientfail", json.dumps([client_id, NO_ADDRESS if address is None else address]))


def _device_key(user_id: str, device_id: str) -> str:
    return _key("device", json.dumps([user_id, device_id]))


def _pair_key(account: str, address: str | None) -> str:
    # JSON keeps the two parts apart whatever characters an unparsable email holds.
    return _key("fail", json.dumps([account, NO_ADDRESS if address is None else address]))


@dataclass(frozen=True)
class Counted:
    """The hits that one attempt added, so that its success can take back these and no others."""

    hits: tuple[tuple[str, Hits], ...] = ()


class Throttle:
    """Refuse with 429 before any bcrypt work once an account or an address is over its limit."""

    def __init__(self, settings: Settings, store: CounterStore, events: Events) -> None:
        self.max_failures = settings.login_max_failures
        self.failure_window = settings.login_failure_window_seconds
        self.max_per_account = settings.login_max_failures_per_account
        self.per_minute = settings.auth_rate_limit_per_minute
        self.registrations_per_day = settings.registrations_per_address_per_day
        self.task_writes_per_minute = settings.task_writes_per_minute
        self.store = store
        self.events = events

    async def admit_address(self, address: str | None, now: int) -> None:
        """Count one login or registration attempt from `address`; refuse past the limit."""
        if not self.per_minute:
            return
        hits = await self.store.hit(address_key(address), ADDRESS_WINDOW_SECONDS, now)
        if hits.count > self.per_minute:
            self.events.emit("throttled", scope="address")
            raise TooManyRequests(hits.resets_at - now)

    async def admit_registration(self, address: str | None, now: int) -> None:
        """Count one registration attempt from `address` by the minute and by the day."""
        await self.admit_address(address, now)
        if not self.registrations_per_day:
            return
        # Every attempt counts, a taken email or a refused password too: each costs a look-up
        # or a hash, and counting only successes would leave a probe of emails unlimited.
        key = _key("register", NO_ADDRESS if address is None else address)
        hits = await self.store.hit(key, REGISTRATION_WINDOW_SECONDS, now)
        if hits.count > self.registrations_per_day:
            self.events.emit("throttled", scope="registration_address")
            raise TooManyRequests(hits.resets_at - now)

    async def admit_task_write(self, user_id: str, now: int) -> None:
        """Count one task create, update or delete by the user; refuse past the limit."""
        if not self.task_writes_per_minute:
            return
        # Counted before the write, refused ones too: a write of a missing task still costs
        # a look-up, and the count and the decision must be one operation under parallel writes.
        hits = await self.store.hit(_key("taskwrite", user_id), TASK_WRITE_WINDOW_SECONDS, now)
        if hits.count > self.task_writes_per_minute:
            self.events.emit("throttled", scope="task_writes")
            raise TooManyRequests(hits.resets_at - now)

    async def admit_client_check(
        self, client_id: str, address: str | None, now: int, *, right: bool
    ) -> None:
        """Count a wrong client secret per address and per client there; refuse past a limit.

        The answer depends only on the wrong secrets counted before: a right one is refused
        exactly when a wrong one would be, and in a statement that costs the same.
        """
        # The check is a constant-time comparison in memory, made before this one store
        # statement per key: a right secret adds nothing, so a burst of right ones in flight
        # never crowds out the next, and the count and the decision stay one operation, so
        # parallel guesses get no more answers than the limit. Past it the right secret is
        # refused too, or the limit would slow down nothing but the wrong guesses.
        if not self.per_minute:
            return
        for key, scope in (
            (_client_key(address), "client_address"),
            (_client_pair_key(client_id, address), "client"),
        ):
            hits = await self.store.hit(key, ADDRESS_WINDOW_SECONDS, now, by=0 if right else 1)
            if hits.count > self.per_minute - (1 if right else 0):
                self.events.emit("throttled", scope=scope)
                raise TooManyRequests(hits.resets_at - now)

    async def admit_passkey_assertion(self, address: str | None, now: int) -> Counted:
        """Count one passkey assertion from `address` as a failure until it succeeds.

        The per-address failure limit of logins (LOGIN_MAX_FAILURES per
        LOGIN_FAILURE_WINDOW_SECONDS), under a key of its own: no account is named, so
        the address is all there is to count by. A right one takes its hit back (`forgive`).
        """
        if not self.max_failures:
            return Counted()
        key = _key("passkeyfail", NO_ADDRESS if address is None else address)
        hits = await self.store.hit(key, self.failure_window, now)
        if hits.count > self.max_failures:
            self.events.emit("throttled", scope="passkey_address")
            raise TooManyRequests(hits.resets_at - now)
        return Counted(((key, hits),))

    async def forgive(self, counted: Counted) -> None:
        """Take back the hits of one attempt that succeeded: its own, never another's."""
        # Never a clear: that would forgive every failure counted before, anyone's at the
        # same address, and let whoever knows one password guess at another between two of
        # its own successes.
        for key, hits in counted.hits:
            await self.store.unhit(key, hits)

    async def admit_password_check(
        self,
        account: str,
        user_id: str | None,
        address: str | None,
        now: int,
        device_id: str | None = None,
    ) -> Counted:
        """Count one password check for `account` from `address`; refuse past either limit.

        `user_id` is None for an unknown email, which is counted like any stranger. A
        `device_id` (of a device token recognized for `user_id`) is counted on its own
        instead. A right password takes back its own hits with `forgive`.
        """
        if not self.max_failures:
            return Counted()
        if user_id is not None and device_id is not None:
            return Counted((await self._admit_device(user_id, device_id, now),))
        pair_key = _pair_key(account, address)
        pair = await self.store.hit(pair_key, self.failure_window, now)
        if pair.count > self.max_failures:
            self.events.emit("throttled", scope="account_address")
            raise TooManyRequests(pair.resets_at - now)
        # Counted only once the pair admitted it: one stranger hammering from one address
        # must not spend the budget that every other new address shares.
        if not self.max_per_account or await self._is_familiar(user_id, address):
            return Counted(((pair_key, pair),))
        ceiling_key = _key("acct", account)
        ceiling = await self.store.hit(ceiling_key, ACCOUNT_WINDOW_SECONDS, now)
        if ceiling.count > self.max_per_account:
            self.events.emit("throttled", scope="account")
            raise TooManyRequests(ceiling.resets_at - now)
        return Counted(((pair_key, pair), (ceiling_key, ceiling)))

    async def _admit_device(self, user_id: str, device_id: str, now: int) -> tuple[str, Hits]:
        # Neither the pair nor the ceiling: strangers behind the owner's new address, or
        # anywhere else, spend nothing of the device's budget, and it spends nothing of theirs.
        device_key = _device_key(user_id, device_id)
        device = await self.store.hit(device_key, self.failure_window, now)
        if device.count > self.max_failures:
            self.events.emit("throttled", scope="device")
            raise TooManyRequests(device.resets_at - now)
        return device_key, device

    async def remember_address(self, user_id: str, address: str | None, now: int) -> None:
        """Make `address` familiar to the account after a successful login from it."""
        # An address-less peer is anyone at all: it never earns an exemption.
        if self.max_failures and address is not None:
            await self.store.remember_address(user_id, address_key(address), now)

    async def _is_familiar(self, user_id: str | None, address: str | None) -> bool:
        if address is None:
            return False
        # An unknown email asks the store too (under an id no account has), so that the
        # answer's timing does not tell whether the email is registered.
        return await self.store.is_known_address(user_id or "", address_key(address))
