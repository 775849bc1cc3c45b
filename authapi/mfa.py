"""The `mfa` tag's factor use cases: enrol, confirm, list and remove TOTP factors, and
issue recovery codes. Logging in with a factor is authapi/mfa_login.py's; step-up and
reauthentication are authapi/step_up.py's.

Each change is reported in the owner's activity log by the store step that makes it:
`mfa_enrolled` and `mfa_factor_removed` (with the factor's id) and
`recovery_codes_regenerated`. The first set of recovery codes comes with the first factor
and is part of its `mfa_enrolled`: the owner did not replace anything.

Recovery codes back up whatever second factor the user has, TOTP or passkey: a passkey user
may regenerate them, and they go only with her last second factor (the store's removals of
a factor and of a passkey both see to it, in the step that removes).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from authapi.activity import event
from authapi.errors import NotFound, TooManyFactors
from authapi.events import Events
from authapi.factor_check import FactorCheck
from authapi.records import NO_PEER, Peer, TotpFactor, is_storable
from authapi.recovery_codes import new_codes, normalized
from authapi.secret_box import SecretBox
from authapi.sessions import Caller
from authapi.settings import Settings
from authapi.step_up import StepUp
from authapi.store.base import PENDING_FACTOR_SECONDS, MfaStore
from authapi.totp import base32, new_secret, otpauth_uri

MAX_FACTORS = 5


@dataclass(frozen=True)
class Enrolment:
    """A pending factor, and its secret as it is shown this once."""

    factor_id: str
    secret: str
    otpauth_uri: str


class MfaService:
    """Enrol and remove a user's TOTP factors, and issue their recovery codes."""

    def __init__(
        self,
        *,
        settings: Settings,
        store: MfaStore,
        box: SecretBox,
        check: FactorCheck,
        step_up: StepUp,
        events: Events,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.issuer = settings.jwt_issuer
        self.store = store
        self.box = box
        self.check = check
        self.step_up = step_up
        self.events = events
        self._clock = clock

    def _now(self) -> int:
        return int(self._clock())

    async def enrol(self, caller: Caller) -> Enrolment:
        """Start a pending TOTP factor; a user who has a second factor must step up first."""
        # The store's insert enforces the step-up, not a read before it: her first factor
        # confirmed, or a passkey registered, between such a read and the insert would let
        # a single-factor session add a second factor. It says why it refused, too, from what
        # it saw: a read after it could find her second factor removed meanwhile.
        missing = self.step_up.shortfall(caller)
        now = self._now()
        secret = new_secret()
        factor_id = str(uuid.uuid4())
        # Sealed with its own id as associated data: a secret moved to another row is garbage.
        factor = TotpFactor(factor_id, caller.user.id, self.box.seal(secret, factor_id), now)
        outcome = await self.store.add_factor(
            factor, MAX_FACTORS, now - PENDING_FACTOR_SECONDS, stepped_up=missing is None
        )
        if outcome == "step-up":
            self.step_up.refuse(caller, missing)
        if outcome == "cap":
            raise TooManyFactors(MAX_FACTORS)
        self.events.emit("mfa_enrolment_started", user_id=caller.user.id, factor_id=factor.id)
        return Enrolment(
            factor.id, base32(secret), otpauth_uri(secret, caller.user.email, self.issuer)
        )

    async def confirm(
        self, caller: Caller, factor_id: str, code: str, peer: Peer = NO_PEER
    ) -> list[str] | None:
        """Verify a pending factor with its first code; return recovery codes if it is the first.

        Every other session of the user ends: they were single-factor. The caller's stays.
        """
        user_id = caller.user.id
        now = self._now()
        factor = await self._factor(user_id, factor_id)
        if factor.is_verified or factor.created_at <= now - PENDING_FACTOR_SECONDS:
            raise NotFound("No such pending factor; enrol again.")

        session_id = caller.session.id
        enrolled = event(
            "mfa_enrolled", user_id, now, peer, session_id=session_id, factor_id=factor.id
        )

        async def confirmed() -> bool:
            step = self.check.step_of(factor, code, now)
            return step is not None and await self.store.confirm_factor(
                user_id, factor.id, step, now, now - PENDING_FACTOR_SECONDS, session_id, enrolled
            )

        await self.check.attempt(user_id, now, confirmed, peer, session_id)
        self.events.emit("mfa_enrolled", user_id=user_id, factor_id=factor.id)
        codes = new_codes()
        if await self.store.add_recovery_codes_if_none(user_id, self._hashes(codes), now):
            self.events.emit("recovery_codes_issued", user_id=user_id)
            return codes
        return None

    async def factors(self, caller: Caller) -> list[TotpFactor]:
        """Return the caller's verified factors, oldest first."""
        return await self.store.verified_factors(caller.user.id)

    async def remove(self, caller: Caller, factor_id: str, peer: Peer = NO_PEER) -> None:
        """Remove a factor after a step-up; the last second factor takes the codes with it."""
        self.step_up.require(caller)
        if not is_storable(factor_id):
            raise NotFound("No such factor.")
        removed = event(
            "mfa_factor_removed",
            caller.user.id,
            self._now(),
            peer,
            session_id=caller.session.id,
            factor_id=factor_id,
        )
        if not await self.store.delete_factor(caller.user.id, factor_id, removed):
            raise NotFound("No such factor.")
        self.events.emit("mfa_factor_removed", user_id=caller.user.id, factor_id=factor_id)

    async def regenerate_recovery_codes(self, caller: Caller, peer: Peer = NO_PEER) -> list[str]:
        """Replace the caller's recovery codes after a step-up; the old set stops working.

        She needs a second factor of any kind, which the step-up implies; the store checks
        it again in the step that replaces, since a removal may have come in between.
        """
        self.step_up.require(caller)
        now = self._now()
        codes = new_codes()
        regenerated = event(
            "recovery_codes_regenerated", caller.user.id, now, peer, session_id=caller.session.id
        )
        if not await self.store.replace_recovery_codes(
            caller.user.id, self._hashes(codes), now, regenerated
        ):
            self.step_up.refuse(caller)
        self.events.emit("recovery_codes_regenerated", user_id=caller.user.id)
        return codes

    async def _factor(self, user_id: str, factor_id: str) -> TotpFactor:
        factor = await self.store.get_factor(user_id, factor_id) if is_storable(factor_id) else None
        if factor is None:
            raise NotFound("No such factor.")
        return factor

    def _hashes(self, codes: list[str]) -> list[str]:
        # Stored under the current key only; older keys' forms are for checking.
        return [self.box.macs(normalized(code))[0] for code in codes]
