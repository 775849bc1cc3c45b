"""Auth events: one JSON log line each, and a word to the subscribers the app passed in."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

# The name every event line carries in its `logger` field, whichever module emits it.
logger = logging.getLogger("authapi.events")

# Told the name of an event, such as a Prometheus counter.
EventSubscriber = Callable[[str], None]


class Events:
    """Record auth events as log lines, and tell each subscriber the name of every one."""

    def __init__(self, *subscribers: EventSubscriber) -> None:
        self.subscribers = subscribers

    def emit(self, event: str, **fields: Any) -> None:
        """Record an auth event; callers pass ids and categories, never secrets."""
        # Subscribers hear it before the log line, so that counting never depends on LOG_LEVEL.
        for subscriber in self.subscribers:
            subscriber(event)
        logger.info(event, extra={"fields": {"event": event, **fields}})
