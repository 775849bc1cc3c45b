"""The `passkeys` tag's management use cases: add a passkey, list, rename and remove them.

Logging in with a passkey, and using one as a second factor, are authapi/passkey_login.py's.
Each change is reported in the owner's activity log by the store step that makes it
(`passkey_registered`, `passkey_removed`, with the passkey's id as `factor_id`).
"""

from __future__ import annotations

import secrets
import time
import unicodedata
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from authapi.activity import event
from authapi.errors import InvalidInput, NotFound, PasskeyTaken, TooManyPasskeys
from authapi.events import Events
from authapi.records import NO_PEER, ChallengePurpose, Passkey, Peer, WebauthnChallenge, is_storable
from authapi.sessions import Caller
from authapi.step_up import StepUp
from authapi.store.base import PasskeyStore
from authapi.webauthn import CHALLENGE_SECONDS, CeremonyRefused, RelyingParty, b64url, unb64url

MAX_PASSKEYS = 10
DEFAULT_NAME = "Passkey"
MAX_NAME_LENGTH = 64
CHALLENGE_BYTES = 32
USER_HANDLE_BYTES = 32


@dataclass(frozen=True)
class Options:
    """WebAuthn options for a browser, and the id of the challenge they carry."""

    challenge_id: str
    public_key: dict[str, Any]


async def new_challenge(
    store: PasskeyStore,
    purpose: ChallengePurpose,
    now: int,
    *,
    user_id: str | None = None,
    mfa_token_hash: str | None = None,
    ends_by: int | None = None,
) -> tuple[WebauthnChallenge, bytes]:
    """Store a new challenge of `purpose` and return it with its random bytes.

    It lives CHALLENGE_SECONDS, or until `ends_by` if that comes first.
    """
    raw = secrets.token_bytes(CHALLENGE_BYTES)
    expires_at = now + CHALLENGE_SECONDS
    challenge = WebauthnChallenge(
        id=str(uuid.uuid4()),
        challenge=b64url(raw),
        purpose=purpose,
        expires_at=expires_at if ends_by is None else min(expires_at, ends_by),
        user_id=user_id,
        mfa_token_hash=mfa_token_hash,
    )
    await store.add_webauthn_challenge(challenge)
    return challenge, raw


def passkey_name(name: str | None) -> str:
    """Return the name to keep for a passkey, or refuse one that breaks the rules."""
    if name is None or not name.strip():
        return DEFAULT_NAME
    name = name.strip()
    if len(name) > MAX_NAME_LENGTH:
        raise InvalidInput("name", f"must be at most {MAX_NAME_LENGTH} characters")
    if not is_storable(name) or any(unicodedata.category(c) == "Cc" for c in name):
        raise InvalidInput("name", "must not contain control characters")
    return name


class PasskeyService:
    """Register a user's passkeys, and list, rename and remove them."""

    def __init__(
        self,
        *,
        store: PasskeyStore,
        relying_party: RelyingParty,
        step_up: StepUp,
        events: Events,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self.relying_party = relying_party
        self.step_up = step_up
        self.events = events
        self._clock = clock

    def _now(self) -> int:
        return int(self._clock())

    async def registration_options(self, caller: Caller) -> Options:
        """Return creation options for a new passkey of the caller's.

        A user with a second factor steps up first: a single-factor session must not add one.
        """
        await self.step_up.require_if_enrolled(caller)
        user = caller.user
        mine = await self.store.passkeys_of(user.id)
        if len(mine) >= MAX_PASSKEYS:
            raise TooManyPasskeys(MAX_PASSKEYS)
        # One random handle per user, kept: every passkey of hers carries the same one.
        handle = await self.store.user_handle(
            user.id, b64url(secrets.token_bytes(USER_HANDLE_BYTES))
        )
        challenge, raw = await new_challenge(
            self.store, "registration", self._now(), user_id=user.id
        )
        options = self.relying_party.creation_options(
            raw, unb64url(handle), user.email, [p.credential_id for p in mine]
        )
        return Options(challenge.id, options)

    async def register(
        self,
        caller: Caller,
        challenge_id: str,
        credential: Mapping[str, Any],
        name: str | None = None,
        peer: Peer = NO_PEER,
    ) -> Passkey:
        """Check a new credential against its challenge and keep it as a passkey."""
        # Again at the answer, before the challenge is spent: a factor added since the
        # options were given counts too. The store's insert is what enforces it, though: her
        # first factor confirmed, or another passkey registered, between this read and the
        # insert would let a single-factor session add a second factor.
        await self.step_up.require_if_enrolled(caller)
        missing = self.step_up.shortfall(caller)
        user = caller.user
        now = self._now()
        kept_name = passkey_name(name)
        challenge = (
            await self.store.take_webauthn_challenge(challenge_id, "registration", now, user.id)
            if is_storable(challenge_id)
            else None
        )
        if challenge is None:
            raise InvalidInput("challenge_id", "is unknown, expired or used; ask for new options")
        try:
            new = self.relying_party.verify_registration(challenge.challenge, credential)
        except CeremonyRefused as refused:
            self.events.emit("passkey_registration_refused", user_id=user.id, rule=refused.rule)
            raise InvalidInput("credential", refused.rule) from None
        passkey = Passkey(
            id=str(uuid.uuid4()),
            user_id=user.id,
            credential_id=new.credential_id,
            public_key=new.public_key,
            sign_count=new.sign_count,
            aaguid=new.aaguid,
            backed_up=new.backed_up,
            name=kept_name,
            created_at=now,
        )
        registered = event(
            "passkey_registered",
            user.id,
            now,
            peer,
            session_id=caller.session.id,
            factor_id=passkey.id,
        )
        outcome = await self.store.add_passkey(
            passkey, MAX_PASSKEYS, registered, stepped_up=missing is None
        )
        if outcome == "taken":
            raise PasskeyTaken()
        if outcome == "cap":
            raise TooManyPasskeys(MAX_PASSKEYS)
        if outcome == "step-up":
            # Her first second factor landed after the check above; the insert saw it.
            self.step_up.refuse(caller, missing)
        self.events.emit("passkey_registered", user_id=user.id, passkey_id=passkey.id)
        return passkey

    async def passkeys(self, caller: Caller) -> list[Passkey]:
        """Return the caller's passkeys, oldest first."""
        return await self.store.passkeys_of(caller.user.id)

    async def rename(self, caller: Caller, passkey_id: str, name: str) -> Passkey:
        """Give one of the caller's passkeys a new name."""
        kept_name = passkey_name(name)
        renamed = (
            await self.store.rename_passkey(caller.user.id, passkey_id, kept_name)
            if is_storable(passkey_id)
            else None
        )
        if renamed is None:
            raise NotFound("No such passkey.")
        return renamed

    async def remove(self, caller: Caller, passkey_id: str, peer: Peer = NO_PEER) -> None:
        """Remove one of the caller's passkeys after a step-up.

        The user's last second factor takes her recovery codes with it.
        """
        self.step_up.require(caller)
        if not is_storable(passkey_id):
            raise NotFound("No such passkey.")
        removed = event(
            "passkey_removed",
            caller.user.id,
            self._now(),
            peer,
            session_id=caller.session.id,
            factor_id=passkey_id,
        )
        if not await self.store.delete_passkey(caller.user.id, passkey_id, removed):
            raise NotFound("No such passkey.")
        self.events.emit("passkey_removed", user_id=caller.user.id, passkey_id=passkey_id)
