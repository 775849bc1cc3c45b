"""Session tokens: start a session, rotate its refresh token, check its access token, end it.

The `auth` tag's refresh and logouts, the `sessions` tag, and the check behind bearerAuth
that every protected request makes; browser sessions and introspection build on it.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import NoReturn

from authapi.activity import event
from authapi.devices import DeviceTokens
from authapi.errors import InvalidCredentials, InvalidToken, NotFound
from authapi.events import Events
from authapi.records import (
    NO_PEER,
    Assurance,
    Peer,
    Session,
    SessionKind,
    User,
    is_storable,
    password_only,
)
from authapi.settings import Settings
from authapi.store.base import ActivityStore, SessionStore
from authapi.throttle import known_address_key
from authapi.tokens import Claims, TokenCodec, TokenPair, TokenType, fingerprint

# No account ever has it: the device token of a caller whose account is gone is no token.
NO_VERSION = -1


@dataclass(frozen=True)
class Caller:
    """Who an access token speaks for: its claims, and the account and session read with them."""

    claims: Claims
    user: User
    session: Session


class SessionService:
    """Start, rotate, check and end the sessions of logged-in accounts."""

    def __init__(
        self,
        *,
        settings: Settings,
        store: SessionStore,
        activity: ActivityStore,
        codec: TokenCodec,
        devices: DeviceTokens,
        events: Events,
        clock: Callable[[], float] = time.time,
        second_step: Callable[[User, SessionKind], Awaitable[None]] | None = None,
    ) -> None:
        self.settings = settings
        self.store = store
        self.activity = activity
        self.codec = codec
        self.devices = devices
        self.events = events
        self._clock = clock
        # Asked before any password-only session starts; raises for a user with a factor.
        self._second_step = second_step

    def now(self) -> int:
        """Return the current time in whole epoch seconds."""
        return int(self._clock())

    async def start(
        self,
        user: User,
        peer: Peer,
        kind: SessionKind = "api",
        assurance: Assurance | None = None,
    ) -> TokenPair:
        """Start a session of `kind` for an account whose credentials were just checked.

        `assurance` says how: a password alone unless told otherwise, and a password alone
        first passes the second-step gate, so that no door issues a token without it.
        """
        if assurance is None and self._second_step is not None:
            await self._second_step(user, kind)
        now = self.now()
        assurance = assurance or password_only(now)
        session_id = str(uuid.uuid4())
        # The session's absolute lifetime is fixed here; rotation never extends it.
        expires_at = now + self.settings.refresh_ttl_seconds
        pair = self.codec.issue_pair(user.id, session_id, expires_at, now, assurance)
        session = Session(
            id=session_id,
            user_id=user.id,
            created_at=now,
            expires_at=expires_at,
            refresh_hash=fingerprint(pair.refresh_token),
            user_agent=peer.user_agent,
            client_ip=peer.address,
            # The version read with the password: a change since then refuses this login.
            credential_version=user.credential_version,
            kind=kind,
            acr=assurance.acr,
            amr=assurance.amr,
            auth_time=assurance.auth_time,
        )
        succeeded = event("login_succeeded", user.id, now, peer, session_id=session_id)
        if not await self.store.add_session(
            session, self.settings.max_sessions_per_user, succeeded
        ):
            # A password change or a logout-all landed while the password was being checked.
            self.events.emit("login_failed", user_id=user.id, reason="credentials_changed")
            failed = event("login_failed", user.id, now, peer, reason="credentials_changed")
            await self.activity.record_activity(failed)
            raise InvalidCredentials()
        self.events.emit("login", user_id=user.id, session_id=session_id)
        return pair

    async def refresh(
        self, refresh_token: str, peer: Peer = NO_PEER, kind: SessionKind = "api"
    ) -> TokenPair:
        """Spend a refresh token for a new pair; a spent one presented again revokes the session.

        Only a session of `kind` is refreshed: a token that arrives by the other transport
        is refused before it is spent, and never counts as reuse.
        """
        claims = self.decode(refresh_token, "refresh")
        now = self.now()
        session = self.require_kind(claims, await self.live_session(claims, now), kind)
        presented = fingerprint(refresh_token)
        # Copied from the session, never raised: only a reauthentication raises it.
        pair = self.codec.issue_pair(
            claims.sub, session.id, session.expires_at, now, session.assurance
        )
        if await self.store.rotate_refresh(
            session.id, presented, fingerprint(pair.refresh_token), now
        ):
            # The peer is logged so that a later replay can be laid against who rotated.
            self.events.emit(
                "refresh",
                user_id=claims.sub,
                session_id=session.id,
                address=peer.address,
                user_agent=peer.user_agent,
            )
            return pair
        # The signature is ours and the session matches, so this token was issued and spent.
        session = await self.live_session(claims, now)
        grace = self.settings.refresh_reuse_grace_seconds
        # The window is judged in whole seconds; a grace of 0 means no window at all.
        if (
            grace > 0
            and session.previous_refresh_hash == presented
            and session.rotated_at is not None
            and now - session.rotated_at <= grace
        ):
            # Two tabs racing, or a thief who refreshed first: the session lives either way,
            # so the replay is an event of its own. The session row keeps the peer of the
            # login, not of the last rotation; the `refresh` event before this one names that.
            self.events.emit(
                "refresh_replayed",
                user_id=claims.sub,
                session_id=session.id,
                login_address=session.client_ip,
                login_user_agent=session.user_agent,
                replayer_address=peer.address,
                replayer_user_agent=peer.user_agent,
            )
            replayed = event("refresh_replayed", claims.sub, now, peer, session_id=session.id)
            await self.activity.record_activity(replayed)
            self.refuse(claims, "spent_within_grace")
        reused = event("refresh_reuse_detected", claims.sub, now, peer, session_id=session.id)
        await self.store.revoke_session(session.id, now, reused)
        self.events.emit("reuse_detected", user_id=claims.sub, session_id=session.id)
        self.refuse(claims, "reused")

    async def authenticate(self, access_token: str) -> Caller:
        """Return who an access token speaks for, if its session is still live."""
        claims = self.decode(access_token, "access")
        found = await self.store.get_session_and_user(claims.sid)
        if found is None:
            self.refuse(claims, "revoked")
        session, user = found
        self._require_live(claims, session, user, self.now())
        return Caller(claims, user, session)

    async def reassure(self, caller: Caller, assurance: Assurance) -> TokenPair:
        """Record a reauthentication on the caller's session and issue its tokens anew.

        An API session gets a new pair (its old refresh token is spent); a browser session
        gets a new access token only, since its refresh token lives in the cookie, whose
        next refresh copies the new assurance.
        """
        now = self.now()
        session = caller.session
        pair = self.codec.issue_pair(caller.user.id, session.id, session.expires_at, now, assurance)
        new_hash = fingerprint(pair.refresh_token) if session.kind == "api" else None
        if not await self.store.reassure_session(session.id, assurance, now, new_hash):
            self.refuse(caller.claims, "revoked")
        self.events.emit(
            "reauthenticated", user_id=caller.user.id, session_id=session.id, acr=assurance.acr
        )
        return pair

    async def logout(
        self, claims: Claims, refresh_token: str | None = None, peer: Peer = NO_PEER
    ) -> None:
        """End the caller's session, and another of theirs named by a refresh token."""
        now = self.now()
        await self.end(claims.sub, claims.sid, now, peer)
        if refresh_token is None:
            return
        try:
            other = self.codec.decode(refresh_token, "refresh")
        except InvalidToken:
            return
        if other.sub == claims.sub and other.sid != claims.sid:
            await self.end(other.sub, other.sid, now, peer)

    async def end(
        self, user_id: str, session_id: str, now: int, peer: Peer = NO_PEER, reason: str = "logout"
    ) -> None:
        """Revoke a session of `user_id`, and log it as a logout."""
        ended = event("session_revoked", user_id, now, peer, session_id=session_id, reason=reason)
        await self.store.revoke_session(session_id, now, ended)
        self.events.emit("logout", user_id=user_id, session_id=session_id)

    async def list_sessions(self, claims: Claims) -> list[Session]:
        """Return the caller's live sessions, newest first."""
        return await self.store.list_sessions(claims.sub, self.now())

    async def end_session(self, claims: Claims, session_id: str, peer: Peer = NO_PEER) -> None:
        """Revoke one of the caller's sessions; anyone else's does not exist."""
        session = await self.store.get_session(session_id) if is_storable(session_id) else None
        if session is None or session.user_id != claims.sub or not session.is_live(self.now()):
            raise NotFound("No such session.")
        await self.end(claims.sub, session_id, self.now(), peer, reason="ended")

    async def logout_all(self, claims: Claims, peer: Peer = NO_PEER) -> str:
        """Revoke every session of the caller, this one included; return a new device token.

        The same step forgets every address the account was known from but the caller's, and
        makes every device token stale (a new credential version): the caller's device gets
        the one returned, so that its owner is still known when logging in again.
        """
        now = self.now()
        # The bearer check read the account already; this read is the version to go past.
        found = await self.store.get_session_and_user(claims.sid)
        version = NO_VERSION if found is None else found[1].credential_version + 1
        revoked = await self.store.revoke_user_sessions(
            claims.sub,
            now,
            keep_address=known_address_key(peer.address),
            activity=event("logout_all", claims.sub, now, peer, session_id=claims.sid),
        )
        self.events.emit("logout_all", user_id=claims.sub, sessions_revoked=revoked)
        # One past the version read before: stale at once, failing closed, had another
        # change landed in between.
        return self.devices.issue(claims.sub, version, now)

    def decode(self, token: str, expected: TokenType) -> Claims:
        """Verify a token of the expected type; log why one is refused."""
        try:
            return self.codec.decode(token, expected)
        except InvalidToken as refused:
            self.events.emit("token_refused", reason=refused.reason, expected=expected)
            raise

    async def live_session(self, claims: Claims, now: int) -> Session:
        """Return the session of verified claims if it is live; refuse the token otherwise."""
        found = await self.store.get_session_and_user(claims.sid)
        if found is None:
            self.refuse(claims, "revoked")
        return self._require_live(claims, *found, now)

    def require_kind(self, claims: Claims, session: Session, kind: SessionKind) -> Session:
        """Return the session if it was born of `kind`; refuse its token otherwise.

        The refusal neither rotates nor revokes: whoever holds a browser cookie already holds
        the session, and ending it here would let a cross-transport probe log its owner out.
        """
        if session.kind != kind:
            self.refuse(claims, "wrong_session_kind")
        return session

    def _require_live(self, claims: Claims, session: Session, user: User, now: int) -> Session:
        # A session begun under older credentials (a password change or a logout-all since)
        # is dead, whatever its own record says.
        if (
            session.user_id != claims.sub
            or not session.is_live(now)
            or session.credential_version != user.credential_version
        ):
            self.refuse(claims, "revoked")
        return session

    def refuse(self, claims: Claims, reason: str) -> NoReturn:
        """Log why a token of ours is refused, and raise `InvalidToken` with that reason."""
        self.events.emit(
            "token_refused", reason=reason, expected=claims.type, session_id=claims.sid
        )
        raise InvalidToken(reason)
