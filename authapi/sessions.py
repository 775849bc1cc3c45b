"""The use cases: register, log in, refresh, log out, authenticate."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import NoReturn

from authapi.emails import normalize_email
from authapi.errors import (
    EmailTaken,
    InvalidCredentials,
    InvalidInput,
    InvalidToken,
    NotFound,
    WrongPassword,
)
from authapi.events import Events
from authapi.password_check import PasswordCheck
from authapi.passwords import PasswordHasher, check_password_policy
from authapi.records import NO_PEER, Peer, Session, User, is_storable
from authapi.settings import Settings
from authapi.store.base import Store
from authapi.throttle import Throttle
from authapi.tokens import Claims, TokenCodec, TokenPair, TokenType, fingerprint


@dataclass(frozen=True)
class Caller:
    """Who an access token speaks for: its claims, and the account read with its session."""

    claims: Claims
    user: User


class AuthService:
    """Everything the HTTP layer asks of the domain, with no HTTP in it."""

    def __init__(
        self,
        settings: Settings,
        store: Store,
        hasher: PasswordHasher,
        codec: TokenCodec,
        events: Events,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.settings = settings
        self.store = store
        self.hasher = hasher
        self.codec = codec
        self.events = events
        self.throttle = Throttle(settings, store, events)
        self.passwords = PasswordCheck(self.throttle, hasher)
        self._clock = clock
        self._service_names = ("auth-api", settings.jwt_issuer, settings.jwt_audience)

    def now(self) -> int:
        """Return the current time in whole epoch seconds."""
        return int(self._clock())

    async def register(self, email: str, password: str, peer: Peer = NO_PEER) -> User:
        """Create an account, or refuse a taken email or a password that breaks the policy."""
        await self.throttle.admit_address(peer.address, self.now())
        normalized_email = normalize_email(email)
        normalized_password = self._check_policy(password, normalized_email)
        # Checked first so that a duplicate costs no bcrypt work; add_user re-checks atomically.
        if await self.store.get_user_by_email(normalized_email) is not None:
            raise EmailTaken()
        user = User(
            id=str(uuid.uuid4()),
            email=normalized_email,
            password_hash=await self.hasher.hash(normalized_password),
            created_at=datetime.fromtimestamp(self.now(), UTC),
        )
        await self.store.add_user(user)
        self.events.emit("register", user_id=user.id)
        return user

    async def login(self, email: str, password: str, peer: Peer = NO_PEER) -> TokenPair:
        """Start a session for valid credentials; any failure looks and lasts the same."""
        now = self.now()
        await self.throttle.admit_address(peer.address, now)
        user = await self._find_user(email)
        right = await self.passwords.verify(_account_key(email), user, password, peer, now)
        if user is None or not right:
            self.events.emit("login_failed", user_id=None if user is None else user.id)
            raise InvalidCredentials()
        await self.throttle.remember_address(user.id, peer.address, now)
        if self.hasher.needs_rehash(user.password_hash):
            # BCRYPT_ROUNDS changed since this hash was made: upgrade it while we hold the password,
            # unless a password change replaced the hash meanwhile (then it must stay replaced).
            new_hash = await self.hasher.hash(password)
            if await self.store.set_password_hash(user.id, user.password_hash, new_hash):
                self.events.emit("rehashed", user_id=user.id)
        return await self._start_session(user, peer)

    async def _start_session(self, user: User, peer: Peer) -> TokenPair:
        now = self.now()
        session_id = str(uuid.uuid4())
        # The session's absolute lifetime is fixed here; rotation never extends it.
        expires_at = now + self.settings.refresh_ttl_seconds
        pair = self.codec.issue_pair(user.id, session_id, expires_at, now)
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
        )
        if not await self.store.add_session(session, self.settings.max_sessions_per_user):
            # A password change or a logout-all landed while the password was being checked.
            self.events.emit("login_failed", user_id=user.id, reason="credentials_changed")
            raise InvalidCredentials()
        self.events.emit("login", user_id=user.id, session_id=session_id)
        return pair

    async def refresh(self, refresh_token: str, peer: Peer = NO_PEER) -> TokenPair:
        """Spend a refresh token for a new pair; a spent one presented again revokes the session."""
        claims = self.decode(refresh_token, "refresh")
        now = self.now()
        session = await self.live_session(claims, now)
        presented = fingerprint(refresh_token)
        pair = self.codec.issue_pair(claims.sub, session.id, session.expires_at, now)
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
            self.refuse(claims, "spent_within_grace")
        await self.store.revoke_session(session.id, now)
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
        return Caller(claims, user)

    async def logout(self, claims: Claims, refresh_token: str | None = None) -> None:
        """End the caller's session, and another of theirs named by a refresh token."""
        now = self.now()
        await self.end(claims.sub, claims.sid, now)
        if refresh_token is None:
            return
        try:
            other = self.codec.decode(refresh_token, "refresh")
        except InvalidToken:
            return
        if other.sub == claims.sub and other.sid != claims.sid:
            await self.end(other.sub, other.sid, now)

    async def end(self, user_id: str, session_id: str, now: int) -> None:
        """Revoke a session of `user_id`, and log it as a logout."""
        await self.store.revoke_session(session_id, now)
        self.events.emit("logout", user_id=user_id, session_id=session_id)

    async def change_password(
        self,
        claims: Claims,
        current_password: str,
        new_password: str,
        peer: Peer = NO_PEER,
    ) -> None:
        """Replace the password after checking the current one; end every other session."""
        user = await self.profile(claims)
        now = self.now()
        # The same check as login's, under the same counter: the account's normalized email.
        if not await self.passwords.verify(user.email, user, current_password, peer, now):
            self.events.emit("password_change_failed", user_id=user.id)
            raise WrongPassword("current_password")
        normalized = self._check_policy(new_password, user.email, field="new_password")
        # One step: the new hash, a new credential version, every other session revoked.
        new_hash = await self.hasher.hash(normalized)
        revoked = await self.store.replace_password(user.id, new_hash, now, keep=claims.sid)
        self.events.emit("password_changed", user_id=user.id, sessions_revoked=revoked)

    async def sessions(self, claims: Claims) -> list[Session]:
        """Return the caller's live sessions, newest first."""
        return await self.store.list_sessions(claims.sub, self.now())

    async def end_session(self, claims: Claims, session_id: str) -> None:
        """Revoke one of the caller's sessions; anyone else's does not exist."""
        session = await self.store.get_session(session_id) if is_storable(session_id) else None
        if session is None or session.user_id != claims.sub or not session.is_live(self.now()):
            raise NotFound("No such session.")
        await self.end(claims.sub, session_id, self.now())

    async def logout_all(self, claims: Claims) -> int:
        """Revoke every session of the caller, this one included."""
        revoked = await self.store.revoke_user_sessions(claims.sub, self.now())
        self.events.emit("logout_all", user_id=claims.sub, sessions_revoked=revoked)
        return revoked

    async def profile(self, claims: Claims) -> User:
        """Return the caller's account."""
        user = await self.store.get_user(claims.sub)
        if user is None:
            raise InvalidToken("revoked")
        return user

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

    async def _find_user(self, email: str) -> User | None:
        try:
            return await self.store.get_user_by_email(normalize_email(email))
        except InvalidInput:
            return None

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


def _account_key(email: str) -> str:
    # Throttle by the normalized email when it parses, so look-alike spellings share a count.
    try:
        return normalize_email(email)
    except InvalidInput:
        return email.strip().casefold()
