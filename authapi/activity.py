"""The `activity` tag: what happened to an account, for its owner to read.

The use cases that change an account build the event that reports the change (`event`) and
hand it to the store operation that makes the change, which records both in one step. An
event that reports no change (a failed or throttled login) is written after the answer is
sent instead (`ActivityWriter`), so that the answer's timing never depends on whether the
email is registered. The owner reads her own events only, a page at a time
(`ActivityService`), once this process's deferred writes are done.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import json
import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from authapi.answering import after_answer
from authapi.errors import InvalidInput
from authapi.events import Events
from authapi.records import Activity, ActivityType, Peer
from authapi.store.base import ActivityStore

# Repeated events of these kinds within one minute merge into one event with a count: a
# stranger's flood of failures can then neither push the owner's history out nor grow the
# log faster than one event per address (or replayed session) a minute.
MERGE_WINDOW_SECONDS = 60
_MERGED_BY_ADDRESS: frozenset[ActivityType] = frozenset(
    {
        "login_failed",
        "login_throttled",
        "mfa_failed",
        "mfa_locked",
        "mfa_code_reused",
        "passkey_failed",
    }
)
_MERGED_BY_SESSION: frozenset[ActivityType] = frozenset({"refresh_replayed"})
# Kinds whose `count` the owner is shown: attempts merged, or sessions a change ended.
_COUNTED: frozenset[ActivityType] = (
    _MERGED_BY_ADDRESS | _MERGED_BY_SESSION | frozenset({"logout_all", "password_changed"})
)

# The stored user agent's length, as the session list's: the web layer already cuts it there.
MAX_USER_AGENT = 256

# Deferred writes in flight past this many, a new one is awaited in place: a flood of failed
# logins then holds its requests back instead of growing memory without bound.
MAX_PENDING_WRITES = 1000

logger = logging.getLogger(__name__)

# The reason codes an event may carry, the same as the spec's `ActivityDetails.reason`.
REASONS = frozenset(
    {"wrong_password", "credentials_changed", "logout", "ended", "access_token", "refresh_token"}
)


@dataclass(frozen=True)
class ActivityListing:
    """A page of events and the cursor of the next page, if there is one."""

    items: list[Activity]
    next_cursor: str | None


def event(
    type: ActivityType,
    user_id: str,
    now: int,
    peer: Peer,
    *,
    session_id: str | None = None,
    reason: str | None = None,
    factor_id: str | None = None,
) -> Activity:
    """Build the event that reports a change to `user_id`'s account, seen from `peer`."""
    if reason is not None and reason not in REASONS:
        raise ValueError(f"unknown activity reason {reason!r}")
    return Activity(
        id=str(uuid.uuid4()),
        user_id=user_id,
        type=type,
        occurred_at=now,
        ip=peer.address,
        user_agent=None if peer.user_agent is None else peer.user_agent[:MAX_USER_AGENT],
        session_id=session_id,
        reason=reason,
        merge_key=_merge_key(type, now, peer, session_id, reason),
        factor_id=factor_id,
    )


def _merge_key(
    type: ActivityType, now: int, peer: Peer, session_id: str | None, reason: str | None
) -> str | None:
    if type in _MERGED_BY_ADDRESS:
        by: str | None = peer.address
    elif type in _MERGED_BY_SESSION:
        by = session_id
    else:
        return None
    # Hashed: a fixed length for the column, whatever the address.
    raw = json.dumps([type, reason, by, now // MERGE_WINDOW_SECONDS])
    return hashlib.sha256(raw.encode()).hexdigest()


def details_of(activity: Activity) -> dict[str, Any]:
    """Return the fields a kind of event shows beyond the common ones: an allowlist."""
    details: dict[str, Any] = {}
    if activity.reason is not None:
        details["reason"] = activity.reason
    if activity.type in _COUNTED:
        details["count"] = activity.count
    if activity.factor_id is not None:
        details["factor_id"] = activity.factor_id
    return details


class ActivityWriter:
    """Write events that report no change to the store after the request's answer is sent.

    A wrong password for a registered email records `login_failed`; an unknown email records
    nothing. Written before the answer, the first would cost one more store write than the
    second, and the answer's timing would tell which emails have accounts. Instead the write
    is a task that waits for the request's answer to be sent (authapi/answering.py): a task
    alone is not enough, since the layers between the use case and the socket give the
    event loop back before they send, and a memory store's write would run in that gap. A
    failed write is logged (its event's type and the error's type, nothing more) and
    counted, never raised: no one is left to answer.
    """

    def __init__(
        self, store: ActivityStore, events: Events, max_pending: int = MAX_PENDING_WRITES
    ) -> None:
        self.store = store
        self.events = events
        self.max_pending = max_pending
        # Writes not yet done, kept so that the loop does not drop them and so that they can
        # be awaited; each leaves the set when it ends.
        self._pending: set[asyncio.Task[None]] = set()
        self.failures = 0

    async def record_later(self, activity: Activity) -> None:
        """Write `activity` once the caller's answer is sent, or now if too many wait."""
        task = None
        if len(self._pending) < self.max_pending:
            task = after_answer(lambda: self._write(activity))
        if task is None:
            # Too many wait already, or no request is being answered: write it now.
            await self._write(activity)
            return
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    @property
    def pending(self) -> int:
        """How many deferred writes have not ended yet."""
        return len(self._pending)

    async def drain(self) -> None:
        """Wait until every deferred write scheduled so far (and any they lead to) has ended."""
        while self._pending:
            # `_write` never raises, so one failed write does not stop the wait for the rest.
            await asyncio.gather(*self._pending)

    async def _write(self, activity: Activity) -> None:
        try:
            await self.store.record_activity(activity)
        except Exception as error:
            self.failures += 1
            logger.warning(
                "activity event not recorded: %s (%s)", activity.type, type(error).__name__
            )
            self.events.emit(
                "activity_not_recorded",
                user_id=activity.user_id,
                activity_type=activity.type,
                error=type(error).__name__,
            )


class ActivityService:
    """Read the caller's own activity; another user's events do not exist."""

    def __init__(
        self,
        store: ActivityStore,
        clock: Callable[[], float] = time.time,
        writer: ActivityWriter | None = None,
    ) -> None:
        self.store = store
        self._clock = clock
        self._writer = writer

    async def list(
        self,
        user_id: str,
        limit: int,
        type: ActivityType | None = None,
        cursor: str | None = None,
    ) -> ActivityListing:
        """Return one page of the user's events, newest first.

        This process's deferred writes end first, so that an owner who has just failed to
        log in reads that failure, deterministically.
        """
        if self._writer is not None:
            await self._writer.drain()
        after = None if cursor is None else decode_cursor(cursor)
        page = await self.store.list_activity(user_id, limit=limit, type=type, after=after)
        last = page.items[-1] if page.more and page.items else None
        return ActivityListing(page.items, None if last is None else encode_cursor(last.id))


def encode_cursor(activity_id: str) -> str:
    """Return an opaque cursor that points just past the event with this id."""
    return base64.urlsafe_b64encode(uuid.UUID(activity_id).bytes).decode().rstrip("=")


def decode_cursor(cursor: str) -> str:
    """Read a cursor back to an event id, or raise naming the parameter.

    A cursor only says where in the caller's own events a page starts: the store looks the
    id up among the caller's events, so another user's cursor, or a made-up one that
    decodes, finds no place and answers an empty page.
    """
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        if len(raw) != 16:
            raise ValueError
        return str(uuid.UUID(bytes=raw))
    except (ValueError, binascii.Error):
        raise InvalidInput("cursor", "is not a cursor this API issued") from None
