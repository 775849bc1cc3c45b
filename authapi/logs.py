"""JSON-lines logging on stdout, batched, for our lines and the server's."""

from __future__ import annotations

import json
import logging
import sys
import threading
import time
from typing import Any, TextIO

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


class JsonLinesHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Write lines to stdout in batches: a warning at once, other lines within a moment.

    `StreamHandler` writes and flushes every line: a system call per request, a tenth of
    the protected GET's CPU time under load (stdout is often unbuffered, PYTHONUNBUFFERED).
    Here info lines wait in memory and go out together, at most `FLUSH_SECONDS` later: with
    the next line after that, when `MAX_PENDING` lines are waiting, or from the flusher
    thread when the server has gone quiet. `logging.shutdown` flushes at exit.
    """

    FLUSH_SECONDS = 0.5
    MAX_PENDING = 256

    def __init__(self, stream: TextIO | None = None) -> None:
        super().__init__(stream or sys.stdout)
        self._pending: list[str] = []
        self._flushed_at = time.monotonic()
        _start_flusher()

    def emit(self, record: logging.LogRecord) -> None:
        try:
            line = self.format(record)
            with self.lock:  # type: ignore[union-attr]
                self._pending.append(line)
                if (
                    record.levelno >= logging.WARNING
                    or len(self._pending) >= self.MAX_PENDING
                    or time.monotonic() - self._flushed_at >= self.FLUSH_SECONDS
                ):
                    self._write_pending()
        except RecursionError:
            raise
        except Exception:
            self.handleError(record)

    def flush(self) -> None:
        with self.lock:  # type: ignore[union-attr]
            self._write_pending()

    def _write_pending(self) -> None:
        self._flushed_at = time.monotonic()
        if self._pending:
            self._pending.append("")  # the last line's newline
            self.stream.write(self.terminator.join(self._pending))
            self._pending.clear()
        if hasattr(self.stream, "flush"):
            self.stream.flush()


def flush_logs() -> None:
    """Write out every line still waiting in the root logger's handlers."""
    for handler in logging.getLogger().handlers:
        handler.flush()


_flusher_started = threading.Lock()


def _start_flusher() -> None:
    # One daemon thread per process, whatever the number of apps (tests build hundreds).
    if not _flusher_started.acquire(blocking=False):
        return

    def flush_forever() -> None:
        while True:
            time.sleep(JsonLinesHandler.FLUSH_SECONDS)
            for handler in logging.getLogger().handlers:
                if isinstance(handler, JsonLinesHandler):
                    try:
                        handler.flush()
                    except (OSError, ValueError):
                        continue  # a closed or broken stream: the next line reports it

    threading.Thread(target=flush_forever, name="log-flusher", daemon=True).start()


def configure_logging(level: str) -> None:
    """Send every log line, ours and the server's, to stdout as JSON."""
    # What no line carries, not collected for every record (the logging docs' "Optimization").
    logging.logThreads = False
    logging.logMultiprocessing = False
    # Nor the caller's file and line, which cost a walk up the stack for every line.
    logging._srcfile = None
    handler = JsonLinesHandler()
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for name in ("uvicorn", "uvicorn.error"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True
    # Our access line (authapi.access, with the request id) replaces uvicorn's. uvicorn logs
    # its own whenever its logger has a handler anywhere up the tree, whatever `access_log`
    # says, so it must not reach the root's: each request would be logged twice.
    access = logging.getLogger("uvicorn.access")
    access.handlers[:] = []
    access.propagate = False
    # Connexion logs every 4xx problem again, with its repr; our access line covers it.
    logging.getLogger("connexion").setLevel(max(logging.ERROR, root.level))
