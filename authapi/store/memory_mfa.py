"""Second factors, recovery codes and login challenges in memory: the MFA part of the store."""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable

from authapi.records import (
    PASSWORD_ONLY,
    Activity,
    FactorOutcome,
    MfaChallenge,
    Session,
    TotpFactor,
)
from authapi.store.memory_activity import MemoryActivityLog


class MemoryMfaStore:
    """Keep factors by user; pending factors and challenges in the order they expire.

    Confirming and removing a factor change the user's sessions in the same step, so this
    part shares the sessions' lock (MemoryStore's `_lock`) rather than having its own.
    """

    # Set by MemoryStore.
    _lock: threading.Lock
    _sessions: dict[str, Session]
    _activity: MemoryActivityLog
    # MemoryPasskeyStore's, declared only: a passkey keeps the sessions' aal2.
    _has_passkey: Callable[[str], bool]

    def __init__(self) -> None:
        self._factors: dict[str, TotpFactor] = {}
        self._factor_ids_by_user: dict[str, dict[str, None]] = {}
        # Pending factor ids, oldest first: each lives the same time, so the first to end.
        self._pending: dict[str, None] = {}
        self._recovery_codes: dict[str, set[str]] = {}
        # Challenges by token hash, in the order they were added, which is the order they end.
        self._challenges: dict[str, MfaChallenge] = {}

    def _unrevoked_sessions_of(self, user_id: str) -> list[Session]:
        raise NotImplementedError

    def _new_credentials(
        self,
        user_id: str,
        now: int,
        keep: str | None,
        password_hash: str | None = None,
        activity: Activity | None = None,
    ) -> int:
        raise NotImplementedError

    async def add_factor(
        self, factor: TotpFactor, max_factors: int, pending_since: int, *, stepped_up: bool
    ) -> FactorOutcome:
        with self._lock:
            live = [
                f
                for f in self._factors_of(factor.user_id)
                if f.is_verified or f.created_at > pending_since
            ]
            if not stepped_up and (
                any(f.is_verified for f in live) or self._has_passkey(factor.user_id)
            ):
                return "step-up"
            if len(live) >= max_factors:
                return "cap"
            self._factors[factor.id] = factor
            self._factor_ids_by_user.setdefault(factor.user_id, {})[factor.id] = None
            self._pending[factor.id] = None
            return "added"

    def _factors_of(self, user_id: str) -> list[TotpFactor]:
        return [self._factors[i] for i in self._factor_ids_by_user.get(user_id, {})]

    async def get_factor(self, user_id: str, factor_id: str) -> TotpFactor | None:
        factor = self._factors.get(factor_id)
        return factor if factor is not None and factor.user_id == user_id else None

    async def verified_factors(self, user_id: str) -> list[TotpFactor]:
        return [f for f in self._factors_of(user_id) if f.is_verified]

    async def confirm_factor(
        self,
        user_id: str,
        factor_id: str,
        step: int,
        now: int,
        pending_since: int,
        keep_session: str,
        activity: Activity | None = None,
    ) -> bool:
        with self._lock:
            factor = self._factors.get(factor_id)
            if (
                factor is None
                or factor.user_id != user_id
                or factor.is_verified
                or factor.created_at <= pending_since
                or step <= factor.last_used_step
            ):
                return False
            self._factors[factor_id] = dataclasses.replace(
                factor, confirmed_at=now, last_used_step=step, last_used_at=now
            )
            self._pending.pop(factor_id, None)
            self._new_credentials(user_id, now, keep_session)
            self._record(activity)
            return True

    async def use_totp_step(
        self, factor_id: str, step: int, now: int, activity: Activity | None = None
    ) -> bool:
        with self._lock:
            factor = self._factors.get(factor_id)
            if factor is None or not factor.is_verified or step <= factor.last_used_step:
                return False
            self._factors[factor_id] = dataclasses.replace(
                factor, last_used_step=step, last_used_at=now
            )
            self._record(activity)
            return True

    async def delete_factor(
        self, user_id: str, factor_id: str, activity: Activity | None = None
    ) -> bool:
        with self._lock:
            factor = self._factors.get(factor_id)
            if factor is None or factor.user_id != user_id:
                return False
            self._drop_factor(factor)
            if not self._has_second_factor(user_id):
                self._lose_second_factor(user_id)
            self._record(activity)
            return True

    def _has_second_factor(self, user_id: str) -> bool:
        return self._has_passkey(user_id) or any(f.is_verified for f in self._factors_of(user_id))

    def _lose_second_factor(self, user_id: str) -> None:
        # Called under the lock of the removal that took the last one: one step, so two
        # removals racing cannot both see the other's factor and leave codes behind.
        self._recovery_codes.pop(user_id, None)
        # Unrevoked ones only: a revoked session's assurance is never read again.
        for session in self._unrevoked_sessions_of(user_id):
            self._sessions[session.id] = dataclasses.replace(session, acr="aal1", amr=PASSWORD_ONLY)

    def _record(self, activity: Activity | None) -> None:
        # Called under the lock of the change the event reports: one step.
        if activity is not None:
            self._activity.record(activity)

    def _drop_factor(self, factor: TotpFactor) -> None:
        del self._factors[factor.id]
        self._pending.pop(factor.id, None)
        ids = self._factor_ids_by_user[factor.user_id]
        del ids[factor.id]
        if not ids:
            del self._factor_ids_by_user[factor.user_id]

    async def add_recovery_codes_if_none(self, user_id: str, hashes: list[str], now: int) -> bool:
        with self._lock:
            # A removal may have come between the confirmation and this: no factor, no codes.
            verified = any(f.is_verified for f in self._factors_of(user_id))
            if self._recovery_codes.get(user_id) or not verified:
                return False
            self._recovery_codes[user_id] = set(hashes)
            return True

    async def replace_recovery_codes(
        self, user_id: str, hashes: list[str], now: int, activity: Activity | None = None
    ) -> bool:
        with self._lock:
            if not self._has_second_factor(user_id):
                return False
            self._recovery_codes[user_id] = set(hashes)
            self._record(activity)
            return True

    async def has_recovery_codes(self, user_id: str) -> bool:
        return bool(self._recovery_codes.get(user_id))

    async def use_recovery_code(
        self, user_id: str, hashes: tuple[str, ...], activity: Activity | None = None
    ) -> bool:
        with self._lock:
            codes = self._recovery_codes.get(user_id, set())
            for code_hash in hashes:
                if code_hash in codes:
                    codes.discard(code_hash)
                    self._record(activity)
                    return True
            return False

    async def add_challenge(self, challenge: MfaChallenge) -> None:
        with self._lock:
            self._challenges[challenge.token_hash] = challenge

    async def get_challenge(self, token_hash: str) -> MfaChallenge | None:
        return self._challenges.get(token_hash)

    async def count_challenge_attempt(
        self, token_hash: str, max_attempts: int, now: int
    ) -> MfaChallenge | None:
        with self._lock:
            challenge = self._challenges.get(token_hash)
            if challenge is None or challenge.expires_at <= now:
                return None
            if challenge.attempts >= max_attempts:
                return None
            counted = dataclasses.replace(challenge, attempts=challenge.attempts + 1)
            self._challenges[token_hash] = counted
            return counted

    async def spend_challenge(self, token_hash: str) -> bool:
        with self._lock:
            return self._challenges.pop(token_hash, None) is not None

    def _purge_mfa(self, now: int, pending_since: int, batch: int) -> int:
        deleted = 0
        while self._pending and deleted < batch:
            factor = self._factors[next(iter(self._pending))]
            if factor.created_at > pending_since:
                break
            self._drop_factor(factor)
            deleted += 1
        while self._challenges and deleted < 2 * batch:
            oldest = next(iter(self._challenges))
            if self._challenges[oldest].expires_at > now:
                break
            del self._challenges[oldest]
            deleted += 1
        return deleted
