"""Passkeys, user handles and WebAuthn challenges in memory: the passkey part of the store."""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable

from authapi.errors import LastPasskey
from authapi.records import (
    Activity,
    ChallengePurpose,
    Passkey,
    PasskeyOutcome,
    TotpFactor,
    User,
    WebauthnChallenge,
)
from authapi.store.memory_activity import MemoryActivityLog


class MemoryPasskeyStore:
    """Keep passkeys by id and by credential id; challenges in the order they expire.

    Removing the last passkey may take the recovery codes and lower the user's sessions in
    the same step, so this part shares the sessions' lock (MemoryStore's `_lock`), as the
    MFA part does.
    """

    # Set by MemoryStore.
    _lock: threading.Lock
    _users: dict[str, User]
    _activity: MemoryActivityLog
    # MemoryMfaStore's, declared only (a definition here would shadow them).
    _factors_of: Callable[[str], list[TotpFactor]]
    _record: Callable[[Activity | None], None]
    _lose_second_factor: Callable[[str], None]

    def __init__(self) -> None:
        self._passkeys: dict[str, Passkey] = {}
        self._passkey_ids_by_credential: dict[str, str] = {}
        self._passkey_ids_by_user: dict[str, dict[str, None]] = {}
        self._user_handles: dict[str, str] = {}
        # Every challenge lives the same time, so insertion order is expiry order.
        self._webauthn_challenges: dict[str, WebauthnChallenge] = {}

    async def user_handle(self, user_id: str, candidate: str) -> str:
        with self._lock:
            return self._user_handles.setdefault(user_id, candidate)

    async def passkeys_of(self, user_id: str) -> list[Passkey]:
        return [self._passkeys[i] for i in self._passkey_ids_by_user.get(user_id, {})]

    async def find_passkey(self, credential_id: str) -> tuple[Passkey, str] | None:
        passkey_id = self._passkey_ids_by_credential.get(credential_id)
        if passkey_id is None:
            return None
        passkey = self._passkeys[passkey_id]
        return passkey, self._user_handles.get(passkey.user_id, "")

    async def add_passkey(
        self,
        passkey: Passkey,
        max_passkeys: int,
        activity: Activity | None = None,
        *,
        stepped_up: bool,
    ) -> PasskeyOutcome:
        with self._lock:
            if passkey.credential_id in self._passkey_ids_by_credential:
                return "taken"
            held = self._passkey_ids_by_user.get(passkey.user_id, {})
            if len(held) >= max_passkeys:
                return "cap"
            if not stepped_up and (
                held or any(f.is_verified for f in self._factors_of(passkey.user_id))
            ):
                return "step-up"
            self._passkey_ids_by_user.setdefault(passkey.user_id, {})[passkey.id] = None
            self._passkeys[passkey.id] = passkey
            self._passkey_ids_by_credential[passkey.credential_id] = passkey.id
            self._record(activity)
            return "added"

    async def use_passkey(
        self,
        passkey_id: str,
        expected_count: int,
        sign_count: int,
        backed_up: bool,
        now: int,
        activity: Activity | None = None,
    ) -> bool:
        with self._lock:
            passkey = self._passkeys.get(passkey_id)
            if passkey is None or passkey.sign_count != expected_count:
                return False
            self._passkeys[passkey_id] = dataclasses.replace(
                passkey, sign_count=sign_count, backed_up=backed_up, last_used_at=now
            )
            self._record(activity)
            return True

    async def rename_passkey(self, user_id: str, passkey_id: str, name: str) -> Passkey | None:
        with self._lock:
            passkey = self._passkeys.get(passkey_id)
            if passkey is None or passkey.user_id != user_id:
                return None
            renamed = dataclasses.replace(passkey, name=name)
            self._passkeys[passkey_id] = renamed
            return renamed

    async def delete_passkey(
        self, user_id: str, passkey_id: str, activity: Activity | None = None
    ) -> bool:
        with self._lock:
            passkey = self._passkeys.get(passkey_id)
            if passkey is None or passkey.user_id != user_id:
                return False
            ids = self._passkey_ids_by_user[user_id]
            user = self._users.get(user_id)
            if len(ids) == 1 and (user is None or not user.password_hash):
                raise LastPasskey()
            del self._passkeys[passkey_id]
            del self._passkey_ids_by_credential[passkey.credential_id]
            del ids[passkey_id]
            if not ids:
                del self._passkey_ids_by_user[user_id]
                if not any(f.is_verified for f in self._factors_of(user_id)):
                    self._lose_second_factor(user_id)
            self._record(activity)
            return True

    def _has_passkey(self, user_id: str) -> bool:
        return bool(self._passkey_ids_by_user.get(user_id))

    async def add_webauthn_challenge(self, challenge: WebauthnChallenge) -> None:
        with self._lock:
            self._webauthn_challenges[challenge.id] = challenge

    async def take_webauthn_challenge(
        self,
        challenge_id: str,
        purpose: ChallengePurpose,
        now: int,
        user_id: str | None = None,
        mfa_token_hash: str | None = None,
    ) -> WebauthnChallenge | None:
        with self._lock:
            challenge = self._webauthn_challenges.get(challenge_id)
            if (
                challenge is None
                or challenge.expires_at <= now
                or challenge.purpose != purpose
                or challenge.user_id != user_id
                or challenge.mfa_token_hash != mfa_token_hash
            ):
                return None
            del self._webauthn_challenges[challenge_id]
            return challenge

    def _purge_webauthn(self, now: int, batch: int) -> int:
        deleted = 0
        challenges = self._webauthn_challenges
        while challenges and deleted < batch:
            oldest = next(iter(challenges))
            if challenges[oldest].expires_at > now:
                break
            del challenges[oldest]
            deleted += 1
        return deleted
