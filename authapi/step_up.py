"""Step-up (RFC 9470): operations that need a recent second factor, and reauthentication.

An operation that asks for it needs the caller's token to say `acr=aal2` (and its session
still to be aal2: removing the last factor lowers it) with an `auth_time` no older than
STEP_UP_MAX_AGE_SECONDS. `/reauthenticate` gets there for the same session, with a code or
with a passkey (whose checks are authapi/passkey_login.py's).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, Literal, NoReturn, Protocol

from authapi.errors import InvalidInput, StepUpRequired, WrongPassword
from authapi.events import Events
from authapi.factor_check import METHODS, FactorCheck, Method
from authapi.password_check import PasswordCheck
from authapi.records import Assurance, Peer, password_only
from authapi.sessions import Caller, SessionService
from authapi.settings import Settings
from authapi.store.base import MfaStore, PasskeyStore
from authapi.tokens import TokenPair

NEEDS_AAL2 = (
    "acr: this operation needs a second factor (aal2); reauthenticate with a code or a passkey."
)


class FactorStore(MfaStore, PasskeyStore, Protocol):
    """Where a user's second factors are: TOTP factors and passkeys."""


class PasskeyReauthentication(Protocol):
    """Check a passkey assertion of the caller's for reauthentication (authapi/passkey_login.py)."""

    async def verify_reauthentication(
        self, caller: Caller, challenge_id: str, credential: Any, now: int, peer: Peer
    ) -> tuple[str, ...]:
        """Return the `amr` a right assertion earns; refuse a wrong one as a wrong code."""


class StepUp:
    """Demand a recent second factor, and raise a session's assurance by reauthentication."""

    def __init__(
        self,
        *,
        settings: Settings,
        store: FactorStore,
        passwords: PasswordCheck,
        check: FactorCheck,
        passkeys: PasskeyReauthentication,
        sessions: SessionService,
        events: Events,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.max_age = settings.step_up_max_age_seconds
        self.store = store
        self.passwords = passwords
        self.check = check
        self.passkeys = passkeys
        self.sessions = sessions
        self.events = events
        self._clock = clock

    def shortfall(self, caller: Caller) -> str | None:
        """Say what the caller lacks for a step-up (aal2, recently), or None if nothing."""
        claims = caller.claims
        if claims.acr != "aal2" or caller.session.acr != "aal2":
            return NEEDS_AAL2
        if int(self._clock()) - claims.auth_time > self.max_age:
            return (
                f"auth_time: this operation needs an authentication in the "
                f"last {self.max_age} seconds; reauthenticate."
            )
        return None

    def require(self, caller: Caller) -> None:
        """Refuse with RFC 9470's challenge unless the caller is at aal2, recently."""
        missing = self.shortfall(caller)
        if missing is not None:
            self._refuse(caller, missing)

    async def require_if_enrolled(self, caller: Caller) -> None:
        """Demand a step-up of a user with a second factor (a verified factor or a passkey)."""
        user_id = caller.user.id
        if await self.store.verified_factors(user_id) or await self.store.passkeys_of(user_id):
            self.require(caller)

    async def reauthenticate(
        self,
        caller: Caller,
        peer: Peer,
        *,
        password: str | None = None,
        method: Method | Literal["webauthn"] | None = None,
        code: str | None = None,
        challenge_id: str | None = None,
        credential: Any = None,
    ) -> TokenPair:
        """Check a password, a code or a passkey again and issue tokens of the same session.

        A code or a passkey raises the session to aal2. A password alone gives aal1 whatever
        the session was: an aal2 with a new `auth_time` would vouch for a factor nobody just
        presented.
        """
        now = int(self._clock())
        user = caller.user
        if password is not None:
            if not await self.passwords.verify(user.email, user, password, peer, now):
                self.events.emit("reauthentication_failed", user_id=user.id)
                raise WrongPassword("password")
            assurance = password_only(now)
        elif method == "webauthn" and challenge_id is not None:
            amr = await self.passkeys.verify_reauthentication(
                caller, challenge_id, credential, now, peer
            )
            assurance = Assurance("aal2", amr, now)
        elif method in METHODS and code is not None:
            amr = await self.check.verify(user, method, code, now, peer, caller.session.id)
            assurance = Assurance("aal2", amr, now)
        else:
            raise InvalidInput(
                "body", "needs a password, a method and a code, or webauthn with its challenge"
            )
        return await self.sessions.reassure(caller, assurance)

    def refuse(self, caller: Caller, missing: str | None = None) -> NoReturn:
        """Refuse with RFC 9470's challenge, naming `missing` (her `shortfall`) or aal2.

        For an operation whose own store step finds a step-up due: her last second factor went
        since `require` passed (her session is aal1 by then), her first came since
        `require_if_enrolled` passed, or, for an enrolment, which checks nothing before its
        insert, she has one.
        """
        self._refuse(caller, missing or NEEDS_AAL2)

    def _refuse(self, caller: Caller, missing: str) -> NoReturn:
        self.events.emit("step_up_required", user_id=caller.user.id, session_id=caller.session.id)
        raise StepUpRequired(missing, self.max_age)
