"""The storage interface and the records it holds."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol


@dataclass(frozen=True, slots=True)
class User:
    """An account; `email` is in normalized form."""

    id: str
    email: str
    password_hash: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Session:
    """One login: it lives until `expires_at` (epoch seconds) unless revoked earlier."""

    id: str
    user_id: str
    created_at: int
    expires_at: int
    refresh_hash: str
    previous_refresh_hash: str | None = None
    rotated_at: int | None = None
    revoked_at: int | None = None

    def is_live(self, now: int) -> bool:
        """Tell whether tokens of this session may still be accepted."""
        return self.revoked_at is None and now < self.expires_at


class Store(Protocol):
    """What the service needs from storage. Each method is atomic on its own."""

    async def add_user(self, user: User) -> None:
        """Add an account, or raise `EmailTaken` if the email already has one."""

    async def get_user(self, user_id: str) -> User | None:
        """Return the account with this id, if any."""

    async def get_user_by_email(self, email: str) -> User | None:
        """Return the account with this normalized email, if any."""

    async def add_session(self, session: Session) -> None:
        """Record a new session."""

    async def get_session(self, session_id: str) -> Session | None:
        """Return a session by id, revoked or not."""

    async def rotate_refresh(
        self, session_id: str, expected_hash: str, new_hash: str, now: int
    ) -> bool:
        """Swap the session's refresh hash if it is still `expected_hash` and the session live."""

    async def revoke_session(self, session_id: str, now: int) -> None:
        """Revoke a session; revoking twice keeps the first time."""

    async def close(self) -> None:
        """Release connections and files."""
