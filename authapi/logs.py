"""JSON-lines logging on stdout, and the one function that records auth events."""

from __future__ import annotations

import json
import logging
import sys
import time
from typing import Any

events = logging.getLogger("authapi.events")

# Fields a log line may carry beyond the message; anything else passed in `extra` is dropped.
_FIELDS = "fields"


class JsonFormatter(logging.Formatter):
    """Render a record as one JSON object per line."""

    def __init__(self) -> None:
        super().__init__()
        # Formatting the date is a good part of a line's cost; it changes once a second.
        self._second = -1
        self._stamp = ""

    def format(self, record: logging.LogRecord) -> str:
        second = int(record.created)
        if second != self._second:
            self._second = second
            self._stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
        line: dict[str, Any] = {
            "ts": f"{self._stamp}.{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "pid": record.process,
            "msg": record.getMessage(),
        }
        line.update(getattr(record, _FIELDS, {}))
        if record.exc_info and record.exc_info[0] is not None:
            # The type only: an exception's text could carry a value we must not log.
            line["exc_type"] = record.exc_info[0].__name__
        return json.dumps(line, default=str)


def configure_logging(level: str) -> None:
    """Send every log line, ours and the server's, to stdout as JSON."""
    # What no line carries, not collected for every record (the logging docs' "Optimization").
    logging.logThreads = False
    logging.logMultiprocessing = False
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True
    # Connexion logs every 4xx problem again, with its repr; our access line covers it.
    logging.getLogger("connexion").setLevel(max(logging.ERROR, root.level))


def log_event(event: str, **fields: Any) -> None:
    """Record an auth event; callers pass ids and categories, never secrets."""
    events.info(event, extra={_FIELDS: {"event": event, **fields}})
