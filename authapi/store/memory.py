"""The default store: dictionaries in this process, lost on restart.

Records are indexed by user, so that what one user does costs in proportion to that user's
data, never to everyone's. Expiry is tracked in heaps, so that finding what has ended costs
in proportion to what has ended.
"""

from __future__ import annotations

import dataclasses
import heapq
import threading
from collections import deque

from authapi.errors import EmailTaken, StorageFull
from authapi.records import (
    Activity,
    ActivityPage,
    ActivityType,
    Assurance,
    Hits,
    PasswordOutcome,
    Session,
    User,
)
from authapi.store.base import (
    DEFAULT_ACTIVITY_BOUNDS,
    KNOWN_ADDRESS_RETENTION_SECONDS,
    PENDING_FACTOR_SECONDS,
    ActivityBounds,
)
from authapi.store.memory_activity import MAX_EVENTS, MemoryActivityLog
from authapi.store.memory_mfa import MemoryMfaStore
from authapi.store.memory_passkeys import MemoryPasskeyStore
from authapi.store.memory_tasks import MAX_TASKS, MemoryTaskStore

# At most this many throttle counters are kept; past it, the one that ends soonest goes.
# Evicting a counter resets a limit early, but a flood of new keys big enough to reach it
# is itself held back by the per-address limit (and an attacker could as well wait out the
# soonest window). A million counters are some 200 MB; the cap keeps memory bounded.
MAX_COUNTERS = 1_000_000
# Each hit() also drops this many counters whose window has ended: expiry keeps pace with
# creation, and no single call does more than a little of it.
_EXPIRE_PER_HIT = 2
# MEMORY_STORE_MAX_USERS' default: at most 48 KiB each with all her sessions (README).
MAX_USERS = 100_000


class MemoryStore(MemoryTaskStore, MemoryMfaStore, MemoryPasskeyStore):
    """Keep users and sessions in memory. Safe for one process, whatever its threads do."""

    def __init__(
        self,
        max_counters: int = MAX_COUNTERS,
        activity: ActivityBounds = DEFAULT_ACTIVITY_BOUNDS,
        *,
        max_users: int = MAX_USERS,
        max_tasks: int = MAX_TASKS,
        max_activity_events: int = MAX_EVENTS,
    ) -> None:
        MemoryTaskStore.__init__(self, max_tasks)
        MemoryMfaStore.__init__(self)
        MemoryPasskeyStore.__init__(self)
        self._max_users = max_users
        # Written under `_lock`, with the change each event reports; the ceiling on all
        # users' events is applied in the same step.
        self._activity = MemoryActivityLog(activity, max_activity_events)
        self._users: dict[str, User] = {}
        self._user_ids_by_email: dict[str, str] = {}
        self._sessions: dict[str, Session] = {}
        # Per user, the ids of their unrevoked sessions in the order they were added. A
        # revoked session leaves at once (it stays in `_sessions` until the purge), so that
        # a login, a listing or a logout-all walks the user's live sessions (and those that
        # expired since the last purge), never the revoked ones a busy client leaves behind.
        self._live_ids_by_user: dict[str, dict[str, None]] = {}
        # (expires_at, session id) for every stored session; revoked ones wait in a queue.
        # Sessions by the second they expire in, and a heap of those seconds. A deleted
        # session leaves its bucket at once, so a revoked one costs nothing until it would
        # have expired; the heap holds at most one entry per second a session expires in.
        self._expiring: dict[int, dict[str, None]] = {}
        self._expiry_seconds: list[int] = []
        self._revoked: deque[str] = deque()
        self._unrevoked = 0
        self._hits: dict[str, Hits] = {}
        # (user id, hashed address) -> last seen, epoch seconds; kept in last-seen order,
        # so that the purge finds the stale ones at the front.
        self._known_addresses: dict[tuple[str, str], int] = {}
        # Per user, the hashed addresses they are known from, for a credential change to forget.
        self._address_keys_by_user: dict[str, dict[str, None]] = {}
        # (resets_at, key) per window started; entries of cleared or renewed keys are stale.
        self._hit_expiry: list[tuple[int, str]] = []
        self._max_counters = max_counters
        # The event loop already serializes coroutines; the lock also covers threads.
        self._lock = threading.Lock()

    async def add_user(self, user: User) -> None:
        with self._lock:
            if user.email in self._user_ids_by_email:
                raise EmailTaken()
            # Checked with the insert under one lock: parallel registrations never pass it.
            if len(self._users) >= self._max_users:
                raise StorageFull("accounts")
            self._users[user.id] = user
            self._user_ids_by_email[user.email] = user.id

    async def get_user(self, user_id: str) -> User | None:
        return self._users.get(user_id)

    async def get_user_by_email(self, email: str) -> User | None:
        user_id = self._user_ids_by_email.get(email)
        return None if user_id is None else self._users.get(user_id)

    async def add_session(
        self, session: Session, max_sessions: int | None = None, activity: Activity | None = None
    ) -> bool:
        with self._lock:
            user = self._users.get(session.user_id)
            if user is None or user.credential_version != session.credential_version:
                return False
            self._sessions[session.id] = session
            self._expiring_at(session.expires_at)[session.id] = None
            if session.revoked_at is None:
                self._live_ids_by_user.setdefault(session.user_id, {})[session.id] = None
                self._unrevoked += 1
            if max_sessions is not None:
                self._keep_newest(session, max_sessions)
            if activity is not None:
                self._activity.record(activity)
            return True

    def _keep_newest(self, new: Session, max_sessions: int) -> None:
        now = new.created_at
        # Newest first by the order they were added in: `created_at` has whole seconds.
        others = [
            s
            for s in reversed(self._unrevoked_sessions_of(new.user_id))
            if s.id != new.id and s.is_live(now)
        ]
        for session in others[max_sessions - 1 :]:
            self._revoke(session, now)

    def _unrevoked_sessions_of(self, user_id: str) -> list[Session]:
        """Return the user's unrevoked sessions, oldest first: in the order they were added."""
        ids = self._live_ids_by_user.get(user_id, {})
        return [self._sessions[session_id] for session_id in ids]

    def _revoke(self, session: Session, now: int) -> None:
        self._sessions[session.id] = dataclasses.replace(session, revoked_at=now)
        self._revoked.append(session.id)
        self._unrevoked -= 1
        self._forget_live(session)

    def _forget_live(self, session: Session) -> None:
        ids = self._live_ids_by_user[session.user_id]
        del ids[session.id]
        if not ids:
            del self._live_ids_by_user[session.user_id]

    def _expiring_at(self, second: int) -> dict[str, None]:
        bucket = self._expiring.get(second)
        if bucket is None:
            bucket = self._expiring[second] = {}
            heapq.heappush(self._expiry_seconds, second)
        return bucket

    def _delete_session(self, session: Session) -> None:
        bucket = self._expiring[session.expires_at]
        del bucket[session.id]
        if not bucket:
            # Its second stays in the heap until it comes up, then finds no bucket.
            del self._expiring[session.expires_at]
        del self._sessions[session.id]
        if session.revoked_at is None:
            self._unrevoked -= 1
            self._forget_live(session)

    async def get_session(self, session_id: str) -> Session | None:
        return self._sessions.get(session_id)

    async def get_session_and_user(self, session_id: str) -> tuple[Session, User] | None:
        session = self._sessions.get(session_id)
        user = None if session is None else self._users.get(session.user_id)
        return None if session is None or user is None else (session, user)

    async def rotate_refresh(
        self, session_id: str, expected_hash: str, new_hash: str, now: int
    ) -> bool:
        with self._lock:
            session = self._sessions.get(session_id)
            if session is None or not session.is_live(now) or session.refresh_hash != expected_hash:
                return False
            self._sessions[session_id] = dataclasses.replace(
                session, refresh_hash=new_hash, previous_refresh_hash=expected_hash, rotated_at=now
            )
            return True

    async def reassure_session(
        self, session_id: str, assurance: Assurance, now: int, new_refresh_hash: str | None
    ) -> bool:
        with self._lock:
            session = self._sessions.get(session_id)
            if session is None or not session.is_live(now):
                return False
            changed = dataclasses.replace(
                session, acr=assurance.acr, amr=assurance.amr, auth_time=assurance.auth_time
            )
            if new_refresh_hash is not None:
                changed = dataclasses.replace(
                    changed,
                    refresh_hash=new_refresh_hash,
                    previous_refresh_hash=session.refresh_hash,
                    rotated_at=now,
                )
            self._sessions[session_id] = changed
            return True

    async def revoke_session(
        self, session_id: str, now: int, activity: Activity | None = None
    ) -> None:
        with self._lock:
            session = self._sessions.get(session_id)
            if session is not None and session.revoked_at is None:
                self._revoke(session, now)
                if activity is not None:
                    self._activity.record(activity)

    async def set_password_hash(
        self, user_id: str, expected_hash: str, new_hash: str, activity: Activity | None = None
    ) -> bool:
        with self._lock:
            user = self._users.get(user_id)
            if user is None or user.password_hash != expected_hash:
                return False
            self._users[user_id] = dataclasses.replace(user, password_hash=new_hash)
            if activity is not None:
                self._activity.record(activity)
            return True

    async def replace_password(
        self,
        user_id: str,
        password_hash: str,
        now: int,
        keep: str | None = None,
        keep_address: str | None = None,
        activity: Activity | None = None,
        *,
        stepped_up: bool,
    ) -> tuple[PasswordOutcome, int]:
        with self._lock:
            # Checked under the lock of the change: a logout, another session's confirmation
            # of her first factor or a passkey added lands wholly before it or after it.
            session = None if keep is None else self._sessions.get(keep)
            if keep is not None and (
                session is None or session.user_id != user_id or not session.is_live(now)
            ):
                return "session-ended", 0
            if not stepped_up and self._has_second_factor(user_id):
                return "step-up", 0
            self._forget_addresses(user_id, keep_address)
            return "changed", self._new_credentials(user_id, now, keep, password_hash, activity)

    async def list_sessions(self, user_id: str, now: int) -> list[Session]:
        with self._lock:
            user = self._users.get(user_id)
            live = [
                session
                for session in self._unrevoked_sessions_of(user_id)
                if session.is_live(now)
                and user is not None
                and session.credential_version == user.credential_version
            ]
        live.reverse()
        return live

    async def revoke_user_sessions(
        self,
        user_id: str,
        now: int,
        keep: str | None = None,
        keep_address: str | None = None,
        activity: Activity | None = None,
    ) -> int:
        with self._lock:
            self._forget_addresses(user_id, keep_address)
            return self._new_credentials(user_id, now, keep, activity=activity)

    def _forget_addresses(self, user_id: str, keep_address: str | None) -> None:
        keys = self._address_keys_by_user.pop(user_id, {})
        for key in keys:
            if key != keep_address:
                del self._known_addresses[user_id, key]
        if keep_address in keys:
            self._address_keys_by_user[user_id] = {keep_address: None}

    def _new_credentials(
        self,
        user_id: str,
        now: int,
        keep: str | None,
        password_hash: str | None = None,
        activity: Activity | None = None,
    ) -> int:
        user = self._users.get(user_id)
        if user is None:
            return 0
        version = user.credential_version + 1
        self._users[user_id] = dataclasses.replace(
            user,
            password_hash=user.password_hash if password_hash is None else password_hash,
            credential_version=version,
        )
        revoked = 0
        for session in self._unrevoked_sessions_of(user_id):
            if session.id == keep:
                self._sessions[session.id] = dataclasses.replace(
                    session, credential_version=version
                )
            else:
                self._revoke(session, now)
                revoked += 1
        if activity is not None:
            self._activity.record(dataclasses.replace(activity, count=revoked))
        return revoked

    async def count_live_sessions(self, now: int) -> int:
        with self._lock:
            return self._unrevoked - self._expired_unrevoked(now)

    def _expired_unrevoked(self, now: int) -> int:
        # The seconds that have ended form the top of the heap (a parent ends no later than
        # its children): walking them costs what has expired since the last purge, no more.
        heap, count = self._expiry_seconds, 0
        pending = [0] if heap else []
        while pending:
            index = pending.pop()
            if heap[index] > now:
                continue
            for session_id in self._expiring.get(heap[index], ()):
                count += self._sessions[session_id].revoked_at is None
            pending += [child for child in (2 * index + 1, 2 * index + 2) if child < len(heap)]
        return count

    async def purge(self, now: int, batch: int) -> int:
        with self._lock:
            return (
                self._purge_expired_sessions(now, batch)
                + self._purge_revoked_sessions(batch)
                + self._expire_counters(now, batch)
                + self._purge_stale_addresses(now, batch)
                + self._purge_mfa(now, now - PENDING_FACTOR_SECONDS, batch)
                + self._purge_webauthn(now, batch)
                + self._activity.purge(now, batch)
            )

    def _purge_stale_addresses(self, now: int, batch: int) -> int:
        deleted = 0
        stale_before = now - KNOWN_ADDRESS_RETENTION_SECONDS
        addresses = self._known_addresses
        while addresses and deleted < batch:
            oldest = next(iter(addresses))
            if addresses[oldest] >= stale_before:
                break
            del addresses[oldest]
            user_id, key = oldest
            keys = self._address_keys_by_user[user_id]
            del keys[key]
            if not keys:
                del self._address_keys_by_user[user_id]
            deleted += 1
        return deleted

    def _purge_expired_sessions(self, now: int, batch: int) -> int:
        deleted = 0
        heap = self._expiry_seconds
        while heap and heap[0] <= now and deleted < batch:
            bucket = self._expiring.get(heap[0])
            if not bucket:
                heapq.heappop(heap)
                continue
            # Deleting the last session of the bucket drops the bucket; the loop then pops.
            self._delete_session(self._sessions[next(iter(bucket))])
            deleted += 1
        return deleted

    def _purge_revoked_sessions(self, batch: int) -> int:
        deleted = 0
        while self._revoked and deleted < batch:
            session = self._sessions.get(self._revoked.popleft())
            # Gone already if it expired first.
            if session is not None:
                self._delete_session(session)
                deleted += 1
        return deleted

    async def hit(self, key: str, window_seconds: int, now: int, by: int = 1) -> Hits:
        with self._lock:
            self._expire_counters(now, _EXPIRE_PER_HIT)
            current = self._current(key, now)
            if current is not None:
                hits = Hits(current.count + by, current.resets_at)
            else:
                if key not in self._hits and len(self._hits) >= self._max_counters:
                    self._evict_soonest()
                hits = Hits(by, now + window_seconds)
                self._push_expiry(hits.resets_at, key)
            self._hits[key] = hits
            return hits

    def _push_expiry(self, resets_at: int, key: str) -> None:
        heapq.heappush(self._hit_expiry, (resets_at, key))
        # Stale entries leave as their time comes; should they pile up, start afresh.
        if len(self._hit_expiry) > 2 * len(self._hits) + 1024:
            self._hit_expiry = [(hits.resets_at, k) for k, hits in self._hits.items()]
            self._hit_expiry.append((resets_at, key))
            heapq.heapify(self._hit_expiry)

    def _expire_counters(self, now: int, limit: int) -> int:
        expired = 0
        heap = self._hit_expiry
        for _ in range(limit):
            if not heap or heap[0][0] > now:
                break
            resets_at, key = heapq.heappop(heap)
            hits = self._hits.get(key)
            if hits is not None and hits.resets_at == resets_at:
                del self._hits[key]
                expired += 1
        return expired

    def _evict_soonest(self) -> None:
        while self._hit_expiry:
            resets_at, key = heapq.heappop(self._hit_expiry)
            hits = self._hits.get(key)
            if hits is not None and hits.resets_at == resets_at:
                del self._hits[key]
                return

    async def unhit(self, key: str, hits: Hits) -> None:
        with self._lock:
            current = self._hits.get(key)
            # A window ends at a later second than any before it: the same end, the same window.
            if current is not None and current.resets_at == hits.resets_at and current.count > 0:
                self._hits[key] = Hits(current.count - 1, current.resets_at)

    async def peek(self, key: str, window_seconds: int, now: int) -> Hits:
        with self._lock:
            return self._current(key, now) or Hits(0, now + window_seconds)

    async def remember_address(self, user_id: str, address_key: str, now: int) -> None:
        with self._lock:
            self._known_addresses.pop((user_id, address_key), None)
            self._known_addresses[user_id, address_key] = now
            self._address_keys_by_user.setdefault(user_id, {})[address_key] = None

    async def is_known_address(self, user_id: str, address_key: str) -> bool:
        return (user_id, address_key) in self._known_addresses

    async def record_activity(self, activity: Activity) -> None:
        with self._lock:
            self._activity.record(activity)

    async def list_activity(
        self,
        user_id: str,
        *,
        limit: int,
        type: ActivityType | None = None,
        after: str | None = None,
    ) -> ActivityPage:
        with self._lock:
            return self._activity.page(user_id, limit, type, after)

    def _current(self, key: str, now: int) -> Hits | None:
        hits = self._hits.get(key)
        return hits if hits is not None and now < hits.resets_at else None

    async def open(self) -> None:
        return None

    async def ping(self) -> None:
        return None

    async def close(self) -> None:
        return None
