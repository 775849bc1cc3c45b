"""The storage interface: what the use cases need from a backend."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from authapi.records import Assurance, Hits, Session, Task, TaskPage, User

# A known login address unseen for this long is forgotten by the purge.
KNOWN_ADDRESS_RETENTION_SECONDS = 90 * 86400


class UserStore(Protocol):
    """Accounts: each method atomic on its own.

    Credential versions: every method that bumps a user's version revokes, in the same
    atomic step, each of the user's sessions that it does not carry over to the new version,
    and `add_session` refuses a session whose version is no longer the user's. So a session
    that is not revoked always has its user's current version.
    """

    async def add_user(self, user: User) -> None:
        """Add an account, or raise `EmailTaken` if the email already has one."""

    async def get_user(self, user_id: str) -> User | None:
        """Return the account with this id, if any."""

    async def get_user_by_email(self, email: str) -> User | None:
        """Return the account with this normalized email, if any."""

    async def set_password_hash(self, user_id: str, expected_hash: str, new_hash: str) -> bool:
        """Swap a user's password hash if it is still `expected_hash`; tell whether it was."""

    async def replace_password(
        self,
        user_id: str,
        password_hash: str,
        now: int,
        keep: str | None = None,
        keep_address: str | None = None,
    ) -> int:
        """Set a new password hash and bump the credential version, with `revoke_user_sessions`.

        One atomic step, which forgets the known addresses as `revoke_user_sessions` does;
        returns how many sessions were revoked.
        """


class SessionStore(Protocol):
    """Logins and their refresh chains: each method atomic on its own.

    Credential versions: every method that bumps a user's version revokes, in the same
    atomic step, each of the user's sessions that it does not carry over to the new version,
    and `add_session` refuses a session whose version is no longer the user's. So a session
    that is not revoked always has its user's current version.
    """

    async def add_session(self, session: Session, max_sessions: int | None = None) -> bool:
        """Record a session if its user's credential version is still the session's.

        Then revoke the user's oldest live sessions beyond `max_sessions`, never the new one.
        Return False, storing nothing, when the version has moved on (or the user is gone).
        """

    async def get_session(self, session_id: str) -> Session | None:
        """Return a session by id, revoked or not."""

    async def get_session_and_user(self, session_id: str) -> tuple[Session, User] | None:
        """Return a session by id, revoked or not, with its account: one lookup, not two."""

    async def rotate_refresh(
        self, session_id: str, expected_hash: str, new_hash: str, now: int
    ) -> bool:
        """Swap the session's refresh hash if it is still `expected_hash` and the session live."""

    async def revoke_session(self, session_id: str, now: int) -> None:
        """Revoke a session; revoking twice keeps the first time."""

    async def reassure_session(
        self, session_id: str, assurance: Assurance, now: int, new_refresh_hash: str | None
    ) -> bool:
        """Set a live session's assurance, and rotate its refresh hash if one is given.

        The rotation is the one `rotate_refresh` makes, whatever the current hash is.
        Return False, changing nothing, if the session is not live.
        """

    async def list_sessions(self, user_id: str, now: int) -> list[Session]:
        """Return the user's live sessions, newest first."""

    async def revoke_user_sessions(
        self, user_id: str, now: int, keep: str | None = None, keep_address: str | None = None
    ) -> int:
        """Bump the user's credential version and revoke every session but `keep`.

        `keep`, if it is the user's and not revoked, moves to the new version and lives on.
        In the same atomic step, forget every address the user is known from but
        `keep_address` (a hashed key, as `remember_address` takes). Return how many
        sessions were revoked.
        """

    async def count_live_sessions(self, now: int) -> int:
        """Count the sessions of every user that are neither expired nor revoked."""


class CounterStore(Protocol):
    """What the throttle counts and remembers: fixed-window counters and known addresses."""

    async def hit(self, key: str, window_seconds: int, now: int, by: int = 1) -> Hits:
        """Count `by` events (one, or none) under `key` in its current fixed window, atomically.

        `by=0` reads the count in the very statement, and at the very cost, that adds one.
        """

    async def unhit(self, key: str, hits: Hits) -> None:
        """Take back one event that `hit` counted as `hits`, atomically.

        Only from the window that counted it (the one ending at `hits.resets_at`), never
        below zero: a newer window, or a count that another request took back, is left alone.
        """

    async def peek(self, key: str, window_seconds: int, now: int) -> Hits:
        """Return the count under `key` in its current window without adding to it."""

    async def clear(self, key: str) -> None:
        """Forget the count under `key`."""

    async def remember_address(self, user_id: str, address_key: str, now: int) -> None:
        """Record a login of the user from this hashed address, or move its `last_seen` on."""

    async def is_known_address(self, user_id: str, address_key: str) -> bool:
        """Tell whether the user has logged in from this hashed address before."""


class TaskStore(Protocol):
    """Each user's tasks."""

    async def add_task(self, task: Task, max_tasks: int | None = None) -> bool:
        """Record a new task, unless its user already has `max_tasks`; tell whether it was."""

    async def get_task(self, user_id: str, task_id: str) -> Task | None:
        """Return the task if it exists and belongs to `user_id`."""

    async def list_tasks(
        self,
        user_id: str,
        *,
        limit: int,
        completed: bool | None = None,
        before: tuple[datetime, str] | None = None,
    ) -> TaskPage:
        """Return up to `limit` of the user's tasks, newest first, older than `before`."""

    async def update_task(self, task: Task) -> bool:
        """Replace a task of its owner; False if it no longer exists."""

    async def delete_task(self, user_id: str, task_id: str) -> bool:
        """Delete a task of `user_id`; False if there was none."""


class Store(UserStore, SessionStore, CounterStore, TaskStore, Protocol):
    """A whole backend: every aggregate, plus its lifecycle and the purge of ended records."""

    async def purge(self, now: int, batch: int) -> int:
        """Delete up to `batch` ended records of each kind; return how many went in all.

        Ended: expired or revoked sessions, counters whose window is over, and known
        addresses unseen for KNOWN_ADDRESS_RETENTION_SECONDS.
        """

    async def open(self) -> None:
        """Connect, and bring a fresh database to the current schema."""

    async def ping(self) -> None:
        """Raise `StoreUnavailable` if the store cannot answer right now."""

    async def close(self) -> None:
        """Release connections and files."""
