"""The second step of a login: a right password of a user with a factor gets an mfa_token.

`LoginChallenges.require_none` is the gate every password login passes on its way to a
session (authapi/sessions.py calls it); `MfaLogin.verify` ends the login with a code.
The mfa_token is opaque and stored only as its SHA-256; it lives MFA_TOKEN_SECONDS, belongs
to the flow (JSON or browser) it came from, and dies after MAX_ATTEMPTS codes.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from typing import Any, Protocol

from authapi.accounts import Login
from authapi.devices import DeviceTokens
from authapi.errors import InvalidCode, InvalidInput, MfaRequired
from authapi.events import Events
from authapi.factor_check import FactorCheck, LoginMethod
from authapi.passkey_login import PasskeyLogin
from authapi.records import Assurance, MfaChallenge, Peer, SessionKind, User
from authapi.sessions import SessionService
from authapi.store.base import MfaStore, PasskeyStore, UserStore
from authapi.tokens import fingerprint

MFA_TOKEN_SECONDS = 300
MAX_ATTEMPTS = 5


class LoginStore(MfaStore, PasskeyStore, UserStore, Protocol):
    """What the second step needs of a store: challenges and factors, and the accounts."""


class ChallengeStore(MfaStore, PasskeyStore, Protocol):
    """What the gate needs of a store: factors, passkeys and login challenges."""


class LoginChallenges:
    """Turn a password login of a user with a verified factor into a challenge."""

    def __init__(
        self, store: ChallengeStore, events: Events, clock: Callable[[], float] = time.time
    ) -> None:
        self.store = store
        self.events = events
        self._clock = clock

    async def require_none(self, user: User, kind: SessionKind) -> None:
        """Return if the user has no second factor; else raise `MfaRequired` with a token.

        Her second factors are her verified TOTP factors and her passkeys; `methods` lists
        the ways she has. Recovery codes back up either kind, and are listed only while one
        is left unused: a method that cannot succeed would send her down a dead end.
        """
        totp = bool(await self.store.verified_factors(user.id))
        passkey = bool(await self.store.passkeys_of(user.id))
        if not (totp or passkey):
            return
        methods: tuple[LoginMethod, ...] = ("totp",) if totp else ()
        if await self.store.has_recovery_codes(user.id):
            methods += ("recovery_code",)
        if passkey:
            methods += ("webauthn",)
        token = secrets.token_urlsafe(32)
        challenge = MfaChallenge(
            token_hash=fingerprint(token),
            user_id=user.id,
            kind=kind,
            # The version the password was checked under: a change since refuses the code.
            credential_version=user.credential_version,
            expires_at=int(self._clock()) + MFA_TOKEN_SECONDS,
        )
        await self.store.add_challenge(challenge)
        self.events.emit("mfa_required", user_id=user.id, kind=kind)
        raise MfaRequired(token, MFA_TOKEN_SECONDS, methods)


class MfaLogin:
    """End a challenged login with a TOTP code or a recovery code."""

    def __init__(
        self,
        *,
        store: LoginStore,
        check: FactorCheck,
        passkeys: PasskeyLogin,
        sessions: SessionService,
        devices: DeviceTokens,
        events: Events,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self.check = check
        self.passkeys = passkeys
        self.sessions = sessions
        self.devices = devices
        self.events = events
        self._clock = clock

    async def verify(
        self,
        mfa_token: str,
        method: LoginMethod,
        code: str | None,
        peer: Peer,
        kind: SessionKind,
        *,
        challenge_id: str | None = None,
        # `credential.toJSON()` of an assertion; whatever else a client sends is refused.
        credential: Any = None,
    ) -> Login:
        """Start a session of `kind` at aal2 for a live challenge of that flow and a right code.

        `webauthn` takes a passkey's assertion (`challenge_id`, `credential`) instead of a
        code. The device that finished the login gets a device token, as a password login's
        does.
        """
        now = int(self._clock())
        token_hash = fingerprint(mfa_token)
        # Counted before the code is looked at, in the statement that enforces the limit.
        challenge = await self.store.count_challenge_attempt(token_hash, MAX_ATTEMPTS, now)
        if challenge is None or challenge.kind != kind:
            self.events.emit("mfa_failed", reason="mfa_token", kind=kind)
            raise InvalidCode()
        user = await self.store.get_user(challenge.user_id)
        if user is None or user.credential_version != challenge.credential_version:
            await self.store.spend_challenge(token_hash)
            self.events.emit("mfa_failed", user_id=challenge.user_id, reason="credentials_changed")
            raise InvalidCode()
        # The code's own event (`mfa_verified`, `recovery_code_used`) is written as it is
        # spent; the session's `login_succeeded` as the session starts, once per login: the
        # password step before it answered 403 and recorded no login.
        if method == "webauthn":
            if challenge_id is None or credential is None:
                raise InvalidInput("credential", "webauthn needs challenge_id and credential")
            amr = await self.passkeys.verify_second_factor(
                user, token_hash, challenge_id, credential, now, peer
            )
        else:
            if code is None:
                raise InvalidInput("code", f"{method} needs a code")
            amr = await self.check.verify(user, method, code, now, peer)
        # One success per token, whatever raced it.
        if not await self.store.spend_challenge(token_hash):
            raise InvalidCode()
        pair = await self.sessions.start(user, peer, kind, Assurance("aal2", amr, now))
        return Login(pair, self.devices.issue(user.id, user.credential_version, now))
