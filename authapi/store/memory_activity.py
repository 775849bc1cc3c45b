"""Each user's activity in memory: the log part of the default store.

It takes no lock of its own: the memory store calls it under the lock of the change an
event reports, so that the change and its event are one step.
"""

from __future__ import annotations

import bisect
import dataclasses
import itertools

from authapi.records import Activity, ActivityPage, ActivityType
from authapi.store.base import ActivityBounds

# MEMORY_STORE_MAX_ACTIVITY_EVENTS' default: all users' events together, at most some
# 2.5 KiB each (README), whatever MAX_ACTIVITY_EVENTS_PER_USER times the users would allow.
MAX_EVENTS = 1_000_000
# (the order it was recorded in, event id): sorts as the events were recorded.
EventKey = tuple[int, str]


class MemoryActivityLog:
    """Keep events indexed by user, so a page costs in proportion to that user's events."""

    def __init__(self, bounds: ActivityBounds, max_events: int = MAX_EVENTS) -> None:
        self.bounds = bounds
        # All users' events together. Past it the oldest event of all goes, never a refusal:
        # the log is history, and a change must never be refused because its report has no
        # room. A flood across many accounts can then push out old history; a database keeps it.
        self.max_events = max_events
        self._order = itertools.count(1)
        self._events: dict[str, tuple[int, Activity]] = {}
        # Per user, the keys of their events, oldest first: pages are slices of it.
        self._keys_by_user: dict[str, list[EventKey]] = {}
        # Every event id in the order recorded, so that the purge finds the oldest first.
        self._recorded: dict[str, None] = {}
        self._merges: dict[tuple[str, str], str] = {}

    def record(self, activity: Activity) -> None:
        """Record an event, or add one to the count of the stored event it merges into."""
        if activity.merge_key is not None:
            merged_id = self._merges.get((activity.user_id, activity.merge_key))
            if merged_id is not None:
                order, stored = self._events[merged_id]
                merged = dataclasses.replace(stored, count=stored.count + 1)
                self._events[merged_id] = (order, merged)
                return
            self._merges[activity.user_id, activity.merge_key] = activity.id
        order = next(self._order)
        self._events[activity.id] = (order, activity)
        self._recorded[activity.id] = None
        keys = self._keys_by_user.setdefault(activity.user_id, [])
        keys.append((order, activity.id))
        # The oldest go first; a bound of at least one always keeps the new event.
        while len(keys) > self.bounds.max_per_user:
            self._delete(keys[0][1])
        # The same for everyone's events together: the new event is the newest, so it stays.
        while len(self._events) > self.max_events:
            self._delete(next(iter(self._recorded)))

    def __len__(self) -> int:
        return len(self._events)

    def page(
        self, user_id: str, limit: int, type: ActivityType | None, after: str | None
    ) -> ActivityPage:
        """Return up to `limit` of the user's events, newest first, from just past `after`."""
        keys = self._keys_by_user.get(user_id, [])
        end = len(keys)
        if after is not None:
            found = self._events.get(after)
            if found is None or found[1].user_id != user_id:
                return ActivityPage(items=[], more=False)
            end = bisect.bisect_left(keys, (found[0], after))
        items: list[Activity] = []
        for index in range(end - 1, -1, -1):
            activity = self._events[keys[index][1]][1]
            if type is None or activity.type == type:
                items.append(activity)
                if len(items) > limit:
                    break
        return ActivityPage(items=items[:limit], more=len(items) > limit)

    def purge(self, now: int, batch: int) -> int:
        """Delete up to `batch` events older than the retention period, oldest first."""
        deleted = 0
        expired_before = now - self.bounds.retention_seconds
        while self._recorded and deleted < batch:
            oldest = next(iter(self._recorded))
            if self._events[oldest][1].occurred_at >= expired_before:
                break
            self._delete(oldest)
            deleted += 1
        return deleted

    def _delete(self, activity_id: str) -> None:
        order, activity = self._events.pop(activity_id)
        del self._recorded[activity_id]
        keys = self._keys_by_user[activity.user_id]
        del keys[bisect.bisect_left(keys, (order, activity_id))]
        if not keys:
            del self._keys_by_user[activity.user_id]
        if activity.merge_key is not None:
            self._merges.pop((activity.user_id, activity.merge_key), None)
