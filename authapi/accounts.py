"""The `auth` tag's account use cases: register, log in with a password, change it.

A login ends by starting a session; what follows (refresh, logout) is authapi/sessions.py.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from authapi.activity import ActivityWriter, event
from authapi.devices import DeviceTokens
from authapi.emails import lookup_form, normalize_email
from authapi.errors import (
    EmailTaken,
    InvalidCredentials,
    InvalidInput,
    InvalidToken,
    TooManyRequests,
    WrongPassword,
)
from authapi.events import Events
from authapi.password_check import PasswordCheck
from authapi.passwords import PasswordHasher, check_password_policy
from authapi.records import NO_PEER, Peer, SessionKind, User
from authapi.sessions import Caller, SessionService
from authapi.settings import Settings
from authapi.step_up import StepUp
from authapi.store.base import UserStore
from authapi.throttle import Throttle, known_address_key
from authapi.tokens import Claims, TokenPair


@dataclass(frozen=True)
class Login:
    """What a password login hands out: the session's pair, and its device's device token."""

    pair: TokenPair
    device_token: str


class AccountService:
    """Create accounts, log them in with their password, and replace the password."""

    def __init__(
        self,
        *,
        settings: Settings,
        store: UserStore,
        activity: ActivityWriter,
        hasher: PasswordHasher,
        passwords: PasswordCheck,
        throttle: Throttle,
        sessions: SessionService,
        devices: DeviceTokens,
        step_up: StepUp,
        events: Events,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.settings = settings
        self.step_up = step_up
        self.devices = devices
        self.store = store
        self.activity = activity
        self.hasher = hasher
        self.passwords = passwords
        self.throttle = throttle
        self.sessions = sessions
        self.events = events
        self._clock = clock
        self._service_names = ("auth-api", settings.jwt_issuer, settings.jwt_audience)

    def _now(self) -> int:
        return int(self._clock())

    async def register(self, email: str, password: str, peer: Peer = NO_PEER) -> User:
        """Create an account, or refuse a taken email or a password that breaks the policy."""
        await self.throttle.admit_registration(peer.address, self._now())
        normalized_email = normalize_email(email)
        normalized_password = self._check_policy(password, normalized_email)
        # Checked first so that a duplicate costs no bcrypt work; add_user re-checks atomically.
        if await self.store.get_user_by_email(normalized_email) is not None:
            raise EmailTaken()
        user = User(
            id=str(uuid.uuid4()),
            email=normalized_email,
            password_hash=await self.hasher.hash(normalized_password),
            created_at=datetime.fromtimestamp(self._now(), UTC),
        )
        await self.store.add_user(user)
        self.events.emit("register", user_id=user.id)
        return user

    async def login(
        self,
        email: str,
        password: str,
        peer: Peer = NO_PEER,
        kind: SessionKind = "api",
        device_token: str | None = None,
    ) -> Login:
        """Start a session of `kind` for valid credentials; any failure looks and lasts the same.

        A device token of this account counts the check per device, not under the account's
        ceiling; any other token counts as none. The answer's device token is the same
        device's, renewed, or a new device's.
        """
        now = self._now()
        await self.throttle.admit_address(peer.address, now)
        # Normalized once: the lookup and the throttle's key share it.
        normalized = lookup_form(email)
        user = None if normalized is None else await self.store.get_user_by_email(normalized)
        device_id = self.devices.recognize(device_token, user, now)
        try:
            right = await self.passwords.verify(
                normalized or _loose_key(email), user, password, peer, now, device_id
            )
        except TooManyRequests:
            # The owner learns that her account is being guessed at; an unknown email
            # records nothing. The event is written after the answer is sent, so that the
            # answer waits for the same store work either way.
            if user is not None:
                await self.activity.record_later(event("login_throttled", user.id, now, peer))
            raise
        if user is None or not right:
            self.events.emit("login_failed", user_id=None if user is None else user.id)
            if user is not None:
                failed = event("login_failed", user.id, now, peer, reason="wrong_password")
                await self.activity.record_later(failed)
            raise InvalidCredentials()
        await self.throttle.remember_address(user.id, peer.address, now)
        await self._rehash_if_due(user, password, now, peer)
        pair = await self.sessions.start(user, peer, kind)
        # The version read with the password: the session was refused had it moved on since.
        return Login(pair, self.devices.issue(user.id, user.credential_version, now, device_id))

    async def change_password(
        self,
        caller: Caller,
        current_password: str,
        new_password: str,
        peer: Peer = NO_PEER,
    ) -> str:
        """Replace the password after checking the current one; end every other session.

        Every device token of the account goes stale with the old credential version; the
        caller's device gets a new one, which is returned. A caller whose session has ended,
        or who is short of a step-up while the user has a second factor, changes nothing.
        """
        claims = caller.claims
        # What she lacks for a step-up, read before the hashing: the store refuses the change
        # if she lacks anything once the user has a second factor, whenever that came.
        missing = self.step_up.shortfall(caller)
        user = await self.profile(claims)
        now = self._now()
        # The same check as login's, under the same counter: the account's normalized email.
        if not await self.passwords.verify(user.email, user, current_password, peer, now):
            self.events.emit("password_change_failed", user_id=user.id)
            raise WrongPassword("current_password")
        try:
            normalized = self._check_policy(new_password, user.email, field="new_password")
        except InvalidInput:
            # The current password was right: upgrade its hash, as a login would.
            await self._rehash_if_due(user, current_password, now, peer)
            raise
        # One step: the new hash, a new credential version, every other session revoked.
        new_hash = await self.hasher.hash(normalized)
        # The same step forgets every address the account was known from but the caller's:
        # one a phisher logged in from must not keep its exemption from the account ceiling.
        changed = event("password_changed", user.id, now, peer, session_id=claims.sid)
        # The same step checks what the hashing gave time to change: her first second factor
        # confirmed or a passkey added in another session, or the end of her own session
        # (a logout, or that confirmation, which ends every other session).
        outcome, revoked = await self.store.replace_password(
            user.id,
            new_hash,
            now,
            keep=claims.sid,
            keep_address=known_address_key(peer.address),
            activity=changed,
            stepped_up=missing is None,
        )
        if outcome == "session-ended":
            # The answer its token gets on any protected call from now on.
            self.sessions.refuse(claims, "revoked")
        if outcome == "step-up":
            self.step_up.refuse(caller, missing)
        self.events.emit("password_changed", user_id=user.id, sessions_revoked=revoked)
        # The change bumped the version read above by one. Had another change landed in
        # between, this token is stale already: the caller's device fails closed.
        return self.devices.issue(user.id, user.credential_version + 1, now)

    async def profile(self, claims: Claims) -> User:
        """Return the caller's account."""
        user = await self.store.get_user(claims.sub)
        if user is None:
            raise InvalidToken("revoked")
        return user

    async def _rehash_if_due(self, user: User, password: str, now: int, peer: Peer) -> None:
        # The hash predates PASSWORD_HASH or the cost settings (a bcrypt-era hash under
        # argon2id, say): upgrade it while we hold the right password, unless a password
        # change replaced it meanwhile (then it must stay replaced, and nothing is recorded).
        if self.hasher.needs_rehash(user.password_hash):
            new_hash = await self.hasher.hash(password)
            rehashed = event("password_rehashed", user.id, now, peer)
            if await self.store.set_password_hash(user.id, user.password_hash, new_hash, rehashed):
                self.events.emit("rehashed", user_id=user.id)

    def _check_policy(self, password: str, email: str, field: str = "password") -> str:
        try:
            return check_password_policy(
                password,
                self.settings.password_min_length,
                email=email,
                service_names=self._service_names,
            )
        except InvalidInput as broken:
            raise InvalidInput(field, broken.rule) from None


def _loose_key(email: str) -> str:
    # The throttle's key for an email that does not parse; one that parses is counted by
    # its normalized form, so look-alike spellings share a count.
    return email.strip().casefold()
