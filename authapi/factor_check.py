"""The one second-factor check: counted per user before any code is looked at.

Verify, browser verify, reauthenticate and confirm all go through `attempt`, so a guess
costs the same whichever door it knocks on. The count is the store's atomic `hit` under a
key of its own, apart from the password counters: password guesses cannot lock the second
factor, nor the reverse. A success takes back its own hit and no other.

The owner's activity log shows each outcome. A code that passes is recorded with the step or
recovery code it spends, in the same store step (`mfa_verified`, `recovery_code_used`). A
wrong, reused or locked-out code changes nothing the log reports, so, as a failed login,
its event (`mfa_failed`, `mfa_code_reused`, `mfa_locked`) is written after the answer, and
merges with the same kind from the same address within a minute.
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable
from typing import Literal, Protocol

from authapi.activity import ActivityWriter, event
from authapi.errors import CodeAlreadyUsed, InvalidCode, TooManyRequests
from authapi.events import Events
from authapi.records import (
    NO_PEER,
    WITH_RECOVERY_CODE,
    WITH_TOTP,
    Activity,
    ActivityType,
    Peer,
    TotpFactor,
    User,
)
from authapi.recovery_codes import normalized
from authapi.secret_box import SecretBox, SecretUnreadable
from authapi.settings import Settings
from authapi.store.base import CounterStore, MfaStore
from authapi.totp import DIGITS, matching_step

Method = Literal["totp", "recovery_code"]
METHODS: tuple[Method, ...] = ("totp", "recovery_code")
# The ways a login's second step may go: a code, or a passkey (authapi/passkey_login.py).
LoginMethod = Literal["totp", "recovery_code", "webauthn"]


class MfaCheckStore(MfaStore, CounterStore, Protocol):
    """What the check needs of a store: factors and codes, and the counters."""


def _failure_key(user_id: str) -> str:
    return f"mfa:{hashlib.sha256(user_id.encode()).hexdigest()[:64]}"


class FactorCheck:
    """Check TOTP codes and recovery codes within the per-user limit, refusing a replay."""

    def __init__(
        self,
        settings: Settings,
        store: MfaCheckStore,
        box: SecretBox,
        events: Events,
        activity: ActivityWriter,
    ) -> None:
        self.max_failures = settings.mfa_max_failures
        self.window = settings.mfa_failure_window_seconds
        self.store = store
        self.box = box
        self.events = events
        self.activity = activity

    async def attempt(
        self,
        user_id: str,
        now: int,
        check: Callable[[], Awaitable[bool]],
        peer: Peer = NO_PEER,
        session_id: str | None = None,
    ) -> None:
        """Count one code of `user_id`, run `check`, and refuse a wrong code.

        Past MFA_MAX_FAILURES in the window the code is not even looked at: 429.
        """

        async def report(type: ActivityType) -> None:
            self.events.emit(type, user_id=user_id)
            await self.activity.record_later(event(type, user_id, now, peer, session_id=session_id))

        key = _failure_key(user_id)
        hits = await self.store.hit(key, self.window, now)
        if hits.count > self.max_failures:
            await report("mfa_locked")
            raise TooManyRequests(hits.resets_at - now)
        try:
            right = await check()
        except CodeAlreadyUsed:
            await report("mfa_code_reused")
            raise
        if not right:
            await report("mfa_failed")
            raise InvalidCode()
        await self.store.unhit(key, hits)

    async def verify(
        self,
        user: User,
        method: Method,
        code: str,
        now: int,
        peer: Peer = NO_PEER,
        session_id: str | None = None,
    ) -> tuple[str, ...]:
        """Check a code of a user with verified factors; return the `amr` it earns.

        `session_id` is the session a reauthentication raises; a login has none yet.
        """
        if method == "totp":
            await self.attempt(
                user.id,
                now,
                lambda: self._use_totp(user, code, now, peer, session_id),
                peer,
                session_id,
            )
            self.events.emit("mfa_verified", user_id=user.id, method=method)
            return WITH_TOTP
        used = event("recovery_code_used", user.id, now, peer, session_id=session_id)
        await self.attempt(
            user.id, now, lambda: self._use_recovery_code(user, code, used), peer, session_id
        )
        self.events.emit("recovery_code_used", user_id=user.id)
        self.events.emit("mfa_verified", user_id=user.id, method=method)
        return WITH_RECOVERY_CODE

    def step_of(self, factor: TotpFactor, code: str, now: int) -> int | None:
        """Return the time step whose code `code` is for this factor, or None."""
        if len(code) != DIGITS or not code.isascii() or not code.isdigit():
            return None
        try:
            secret = self.box.open(factor.secret, factor.id)
        except SecretUnreadable:
            # A key that was rotated out too soon: the factor cannot be checked, only removed.
            self.events.emit("mfa_secret_unreadable", user_id=factor.user_id, factor_id=factor.id)
            return None
        return matching_step(secret, code, now)

    async def _use_totp(
        self, user: User, code: str, now: int, peer: Peer, session_id: str | None
    ) -> bool:
        used = False
        for factor in await self.store.verified_factors(user.id):
            step = self.step_of(factor, code, now)
            if step is None:
                continue
            # The compare-and-set decides: of two requests with one code, one succeeds.
            verified = event(
                "mfa_verified", user.id, now, peer, session_id=session_id, factor_id=factor.id
            )
            if step > factor.last_used_step and await self.store.use_totp_step(
                factor.id, step, now, verified
            ):
                return True
            used = True
        if used:
            raise CodeAlreadyUsed()
        return False

    async def _use_recovery_code(self, user: User, code: str, used: Activity) -> bool:
        return await self.store.use_recovery_code(user.id, self.box.macs(normalized(code)), used)
