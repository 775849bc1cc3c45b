"""The `tokens` tag, for OAuth clients: introspection (RFC 7662) and revocation (RFC 7009).

Introspection answers the resource servers listed in INTROSPECTION_CLIENTS, about access
tokens only; revocation answers anyone who holds a token of either kind, since holding it
is enough to end its session.
"""

from __future__ import annotations

import hmac
import time
from collections.abc import Callable
from dataclasses import dataclass

from authapi.activity import event
from authapi.errors import InvalidClient, InvalidToken
from authapi.events import Events
from authapi.records import NO_PEER, Peer
from authapi.sessions import SessionService
from authapi.settings import Settings
from authapi.store.base import SessionStore
from authapi.throttle import Throttle
from authapi.tokens import Claims, TokenCodec, TokenType

# RFC 7009 `token_type_hint` values, by the type they name (introspection ignores the hint).
TOKEN_TYPE_HINTS: dict[str, TokenType] = {"access_token": "access", "refresh_token": "refresh"}


@dataclass(frozen=True)
class Introspection:
    """What RFC 7662 tells a resource server about a token that is valid right now."""

    claims: Claims
    issuer: str
    audience: str


class ClientService:
    """Authenticate resource servers, describe tokens to them, and revoke a token's session."""

    def __init__(
        self,
        *,
        settings: Settings,
        store: SessionStore,
        codec: TokenCodec,
        sessions: SessionService,
        throttle: Throttle,
        events: Events,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.clients = settings.introspection_clients
        self.store = store
        self.codec = codec
        self.sessions = sessions
        self.throttle = throttle
        self.events = events
        self._clock = clock

    def _now(self) -> int:
        return int(self._clock())

    async def authenticate(self, client_id: str, secret: str, peer: Peer = NO_PEER) -> str:
        """Accept a resource server of INTROSPECTION_CLIENTS; guesses are throttled per address."""
        right = _is_listed_client(self.clients, client_id, secret)
        await self.throttle.admit_client_check(client_id, peer.address, self._now(), right=right)
        if right:
            return client_id
        self.events.emit("client_auth_failed", address=peer.address)
        raise InvalidClient()

    async def introspect(self, token: str) -> Introspection | None:
        """Describe an access token that is valid right now, or return None for anything else.

        A refresh token, even a current one, is None (RFC 7662 §4 lets the answer depend on
        who asks): it is for this service alone, and no resource server needs to learn
        whether one it should never hold still works.
        """
        try:
            claims = self.codec.decode(token, "access")
            # The very check every protected request makes.
            await self.sessions.authenticate(token)
        except InvalidToken:
            return None
        return Introspection(claims, self.codec.issuer, self.codec.audience("access"))

    async def revoke(self, token: str, hint: str | None = None, peer: Peer = NO_PEER) -> None:
        """End the session of a valid token of ours; ignore any other token (RFC 7009)."""
        now = self._now()
        await self.throttle.admit_address(peer.address, now)
        for token_type in _search_order(hint):
            try:
                claims = self.codec.decode(token, token_type)
            except InvalidToken:
                continue
            session = await self.store.get_session(claims.sid)
            if session is not None and session.user_id == claims.sub and session.is_live(now):
                revoked = event(
                    "token_revoked",
                    claims.sub,
                    now,
                    peer,
                    session_id=session.id,
                    reason=f"{token_type}_token",
                )
                await self.store.revoke_session(session.id, now, revoked)
                self.events.emit(
                    "revoked", user_id=claims.sub, session_id=session.id, via=token_type
                )
            return


def _is_listed_client(clients: tuple[tuple[str, str], ...], client_id: str, secret: str) -> bool:
    # Every pair is compared, as bytes, whatever matched: the time says nothing of the list.
    offered = (client_id.encode("utf-8", "replace"), secret.encode("utf-8", "replace"))
    matched = False
    for listed_id, listed_secret in clients:
        same_id = hmac.compare_digest(listed_id.encode(), offered[0])
        same_secret = hmac.compare_digest(listed_secret.encode(), offered[1])
        matched |= same_id and same_secret
    return matched


def _search_order(hint: str | None) -> tuple[TokenType, ...]:
    # A hint only says where to look first (RFC 7009 §2.1); an unknown one
    # is ignored.
    return (
        ("refresh", "access")
        if TOKEN_TYPE_HINTS.get(hint or "") == "refresh"
        else (
            "access",
            "refresh",
        )
    )
