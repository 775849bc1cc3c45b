"""The `browser` tag: sessions whose refresh token lives in a cookie, guarded by a CSRF token.

Each browser session has its own CSRF token, derived from the session id; a refresh or a
logout must present it, so that another site cannot make the browser send the cookie.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from authapi.accounts import AccountService
from authapi.errors import CsrfRefused
from authapi.events import Events
from authapi.records import NO_PEER, Peer
from authapi.sessions import SessionService
from authapi.tokens import Claims, TokenCodec, TokenPair


@dataclass(frozen=True)
class BrowserLogin:
    """What a browser login or refresh hands out: the pair, and the session's CSRF token.

    A login also hands out its device's device token (for the device cookie); a refresh none.
    """

    pair: TokenPair
    csrf_token: str
    device_token: str | None = None


class BrowserService:
    """Log a browser in, then rotate and end its session once its CSRF token checks out."""

    def __init__(
        self,
        *,
        accounts: AccountService,
        sessions: SessionService,
        codec: TokenCodec,
        events: Events,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.accounts = accounts
        self.sessions = sessions
        self.codec = codec
        self.events = events
        self._clock = clock

    def _now(self) -> int:
        return int(self._clock())

    async def login(
        self,
        email: str,
        password: str,
        peer: Peer = NO_PEER,
        device_token: str | None = None,
    ) -> BrowserLogin:
        """Log in as `login` does, and add the CSRF token of the new session."""
        login = await self.accounts.login(email, password, peer, "browser", device_token)
        pair = login.pair
        return BrowserLogin(pair, self.codec.csrf_token(pair.session_id), login.device_token)

    async def refresh(
        self, refresh_token: str, csrf_token: str | None, peer: Peer = NO_PEER
    ) -> BrowserLogin:
        """Rotate a browser session's refresh token once its CSRF token checks out."""
        claims = await self._check_csrf(refresh_token, csrf_token)
        pair = await self.sessions.refresh(refresh_token, peer, kind="browser")
        return BrowserLogin(pair, self.codec.csrf_token(claims.sid))

    async def logout(
        self, refresh_token: str, csrf_token: str | None, peer: Peer = NO_PEER
    ) -> None:
        """End a browser session once its CSRF token checks out."""
        claims = await self._check_csrf(refresh_token, csrf_token)
        await self.sessions.end(claims.sub, claims.sid, self._now(), peer)

    async def _check_csrf(self, refresh_token: str, csrf_token: str | None) -> Claims:
        claims = self.sessions.decode(refresh_token, "refresh")
        # A dead session, or an API session's token, is a 401 before the CSRF token is even
        # looked at: an API session never turns into a cookie one.
        session = await self.sessions.live_session(claims, self._now())
        self.sessions.require_kind(claims, session, "browser")
        if csrf_token is None or not self.codec.csrf_matches(claims.sid, csrf_token):
            self.events.emit("csrf_refused", user_id=claims.sub, session_id=claims.sid)
            raise CsrfRefused()
        return claims
