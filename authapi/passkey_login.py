"""Passkey assertions: a passwordless login, and the second step of a password login.

The library checks origin, RP ID, flags and signature (authapi/webauthn.py); the rules it
leaves to the relying party are here:
- a discoverable login's `userHandle` must be the handle of the user who owns the credential
  (else a credential of one user could log in as another whose handle it returns);
- the sign counter: when either the stored or the reported counter is non-zero, the reported
  one must be above the stored one, or the credential may be cloned (WebAuthn §6.1.1);
  passkeys that always report 0 (synced ones) keep working. The counter moves on by
  compare-and-set, so two assertions with one counter value get one success.

Every challenge is taken from the store before anything is checked, so it is answered once,
rightly or not. Wrong assertions of a login count per address against the login limit.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any, Protocol

from authapi.accounts import Login
from authapi.activity import ActivityWriter, event
from authapi.devices import DeviceTokens
from authapi.errors import InvalidCode, PasskeyRefused
from authapi.events import Events
from authapi.factor_check import FactorCheck
from authapi.passkeys import Options, new_challenge
from authapi.records import (
    WITH_PASSKEY,
    WITH_PASSWORD_AND_PASSKEY,
    Activity,
    Assurance,
    Passkey,
    Peer,
    SessionKind,
    User,
    WebauthnChallenge,
    is_storable,
)
from authapi.sessions import SessionService
from authapi.store.base import MfaStore, PasskeyStore, UserStore
from authapi.throttle import Throttle
from authapi.tokens import fingerprint
from authapi.webauthn import Assertion, CeremonyRefused, RelyingParty, credential_id_of


class AssertionStore(PasskeyStore, MfaStore, UserStore, Protocol):
    """What assertions need of a store: passkeys and challenges, login challenges, accounts."""


class AssertionRefused(Exception):
    """An assertion failed a check; `passkey` is the one it named, if it named a known one."""

    def __init__(self, reason: str, passkey: Passkey | None = None, clone: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.passkey = passkey
        self.clone = clone


class PasskeyLogin:
    """Log in with a passkey, or finish a password login with one."""

    def __init__(
        self,
        *,
        store: AssertionStore,
        relying_party: RelyingParty,
        throttle: Throttle,
        check: FactorCheck,
        sessions: SessionService,
        devices: DeviceTokens,
        activity: ActivityWriter,
        events: Events,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self.relying_party = relying_party
        self.throttle = throttle
        self.check = check
        self.sessions = sessions
        self.devices = devices
        self.activity = activity
        self.events = events
        self._clock = clock

    def _now(self) -> int:
        return int(self._clock())

    async def login_options(self, peer: Peer) -> Options:
        """Return request options for a discoverable passkey: no allowCredentials."""
        now = self._now()
        await self.throttle.admit_address(peer.address, now)
        challenge, raw = await new_challenge(self.store, "login", now)
        return Options(challenge.id, self.relying_party.request_options(raw, None))

    async def login(
        self, challenge_id: str, credential: Mapping[str, Any], peer: Peer, kind: SessionKind
    ) -> Login:
        """Start a session of `kind` at aal2 (amr pop, mfa) for a right assertion.

        Sessions start as a password login's do: under the user's credential version and
        MAX_SESSIONS_PER_USER, with a device token for the device.
        """
        now = self._now()
        await self.throttle.admit_address(peer.address, now)
        # Counted as a failure before anything is looked at; a success takes it back.
        counted = await self.throttle.admit_passkey_assertion(peer.address, now)
        try:
            challenge = await self._take(challenge_id, now)
            passkey, assertion = await self._verify(challenge, credential)
            user = await self.store.get_user(passkey.user_id)
            if user is None:
                raise AssertionRefused("account_gone", passkey)
            logged_in = event("passkey_login", user.id, now, peer, factor_id=passkey.id)
            if not await self._spend(passkey, assertion, now, logged_in):
                raise AssertionRefused("counter_raced", passkey)
        except AssertionRefused as refused:
            await self._report(refused, now, peer)
            raise PasskeyRefused(refused.reason) from None
        await self.throttle.forgive(counted)
        await self.throttle.remember_address(user.id, peer.address, now)
        self.events.emit("passkey_login", user_id=user.id, passkey_id=passkey.id, kind=kind)
        pair = await self.sessions.start(user, peer, kind, Assurance("aal2", WITH_PASSKEY, now))
        return Login(pair, self.devices.issue(user.id, user.credential_version, now))

    async def second_factor_options(self, mfa_token: str, peer: Peer) -> Options:
        """Return request options for the passkeys of the user an mfa_token is for."""
        now = self._now()
        await self.throttle.admit_address(peer.address, now)
        token_hash = fingerprint(mfa_token)
        pending = await self.store.get_challenge(token_hash)
        if pending is None or pending.expires_at <= now:
            raise InvalidCode()
        mine = await self.store.passkeys_of(pending.user_id)
        if not mine:
            raise InvalidCode("webauthn: this account has no passkey; use another method.")
        challenge, raw = await new_challenge(
            self.store,
            "mfa",
            now,
            user_id=pending.user_id,
            mfa_token_hash=token_hash,
            # Never outliving the login it belongs to.
            ends_by=pending.expires_at,
        )
        allowed = [p.credential_id for p in mine]
        return Options(challenge.id, self.relying_party.request_options(raw, allowed))

    async def verify_second_factor(
        self,
        user: User,
        token_hash: str,
        challenge_id: str,
        credential: Any,
        now: int,
        peer: Peer,
    ) -> tuple[str, ...]:
        """Check a passkey as the second step of a password login; return the `amr` it earns.

        Counted per user against MFA_MAX_FAILURES with the codes (authapi/factor_check.py).
        """

        async def right() -> bool:
            try:
                challenge = (
                    await self.store.take_webauthn_challenge(
                        challenge_id, "mfa", now, user.id, token_hash
                    )
                    if is_storable(challenge_id)
                    else None
                )
                if challenge is None:
                    raise AssertionRefused("challenge")
                if not isinstance(credential, Mapping):
                    raise AssertionRefused("malformed")
                passkey, assertion = await self._verify(challenge, credential)
                verified = event("mfa_verified", user.id, now, peer, factor_id=passkey.id)
                if not await self._spend(passkey, assertion, now, verified):
                    raise AssertionRefused("counter_raced", passkey)
            except AssertionRefused as refused:
                # The check records the wrong second step as `mfa_failed`; a clone, besides.
                self.events.emit("passkey_failed", user_id=user.id, reason=refused.reason)
                await self._report(refused, now, peer, failed=False)
                return False
            return True

        await self.check.attempt(user.id, now, right, peer)
        self.events.emit("mfa_verified", user_id=user.id, method="webauthn")
        return WITH_PASSWORD_AND_PASSKEY

    async def _take(self, challenge_id: str, now: int) -> WebauthnChallenge:
        challenge = (
            await self.store.take_webauthn_challenge(challenge_id, "login", now)
            if is_storable(challenge_id)
            else None
        )
        if challenge is None:
            raise AssertionRefused("challenge")
        return challenge

    async def _verify(
        self, challenge: WebauthnChallenge, credential: Mapping[str, Any]
    ) -> tuple[Passkey, Assertion]:
        try:
            credential_id = credential_id_of(credential)
        except CeremonyRefused:
            raise AssertionRefused("malformed") from None
        found = await self.store.find_passkey(credential_id)
        if found is None:
            raise AssertionRefused("unknown_credential")
        passkey, handle = found
        if challenge.user_id is not None and passkey.user_id != challenge.user_id:
            # A second factor answered with another user's passkey.
            raise AssertionRefused("other_user")
        try:
            assertion = self.relying_party.verify_assertion(
                challenge.challenge, credential, passkey.credential_id, passkey.public_key
            )
        except CeremonyRefused as refused:
            raise AssertionRefused(refused.rule, passkey) from None
        # A discoverable login names its user by the handle alone: it must be the owner's.
        # A second factor's may be absent, but never another's.
        if (challenge.purpose == "login" or assertion.user_handle is not None) and (
            assertion.user_handle != handle
        ):
            raise AssertionRefused("user_handle", passkey)
        stored, reported = passkey.sign_count, assertion.sign_count
        if (stored or reported) and reported <= stored:
            raise AssertionRefused("counter", passkey, clone=True)
        return passkey, assertion

    async def _spend(
        self, passkey: Passkey, assertion: Assertion, now: int, done: Activity
    ) -> bool:
        return await self.store.use_passkey(
            passkey.id, passkey.sign_count, assertion.sign_count, assertion.backed_up, now, done
        )

    async def _report(
        self, refused: AssertionRefused, now: int, peer: Peer, *, failed: bool = True
    ) -> None:
        # Written after the answer, as a failed login's events are: they report no change.
        passkey = refused.passkey
        user_id = None if passkey is None else passkey.user_id
        if failed:
            self.events.emit("passkey_failed", user_id=user_id, reason=refused.reason)
        if passkey is None:
            return
        if refused.clone:
            # The credential may have been copied: its owner should know, and remove it.
            self.events.emit("passkey_clone_suspected", user_id=user_id, passkey_id=passkey.id)
            await self.activity.record_later(
                event("passkey_clone_suspected", passkey.user_id, now, peer, factor_id=passkey.id)
            )
        if failed:
            await self.activity.record_later(
                event("passkey_failed", passkey.user_id, now, peer, factor_id=passkey.id)
            )
