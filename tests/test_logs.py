"""The JSON-lines handler: every line written, warnings flushed at once, the rest soon after."""

from __future__ import annotations

import io
import json
import logging
import time
from pathlib import Path

import pytest
import requests

from authapi.logs import JsonFormatter, JsonLinesHandler, configure_logging
from tooling.devserver import running_server


class CountingStream(io.StringIO):
    def __init__(self) -> None:
        super().__init__()
        self.flushed = ""

    def flush(self) -> None:
        self.flushed = self.getvalue()


@pytest.fixture
def stream_and_logger() -> tuple[CountingStream, logging.Logger]:
    stream = CountingStream()
    handler = JsonLinesHandler(stream)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("tests.logs")
    logger.handlers[:] = [handler]
    logger.propagate = False
    logger.setLevel(logging.INFO)
    return stream, logger


def test_every_line_is_one_json_object(
    stream_and_logger: tuple[CountingStream, logging.Logger],
) -> None:
    stream, logger = stream_and_logger
    logger.info("request", extra={"fields": {"status": 200}})
    logger.info("request", extra={"fields": {"status": 404}})
    logger.handlers[0].flush()
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert [line["status"] for line in lines] == [200, 404]
    assert lines[0]["ts"].endswith("Z") and lines[0]["level"] == "info"


def test_a_warning_is_flushed_at_once_with_the_lines_before_it(
    stream_and_logger: tuple[CountingStream, logging.Logger],
) -> None:
    stream, logger = stream_and_logger
    logger.info("request")
    assert stream.getvalue() == ""  # waiting for company
    logger.warning("store unavailable")
    assert [json.loads(line)["msg"] for line in stream.flushed.splitlines()] == [
        "request",
        "store unavailable",
    ]


def test_lines_go_out_when_too_many_are_waiting(
    stream_and_logger: tuple[CountingStream, logging.Logger],
) -> None:
    stream, logger = stream_and_logger
    for _ in range(JsonLinesHandler.MAX_PENDING):
        logger.info("request")
    assert len(stream.flushed.splitlines()) == JsonLinesHandler.MAX_PENDING


def test_info_lines_are_flushed_within_the_interval_when_the_server_goes_quiet(
    stream_and_logger: tuple[CountingStream, logging.Logger],
) -> None:
    stream, logger = stream_and_logger
    logging.getLogger().addHandler(logger.handlers[0])  # the flusher serves root's handlers
    try:
        logger.info("first")
        logger.info("last before a quiet spell")
        deadline = time.monotonic() + JsonLinesHandler.FLUSH_SECONDS * 4
        while "quiet spell" not in stream.flushed and time.monotonic() < deadline:
            time.sleep(0.05)
        assert "quiet spell" in stream.flushed
    finally:
        logging.getLogger().removeHandler(logger.handlers[0])


@pytest.mark.slow
def test_a_served_request_is_logged_once_with_its_request_id(tmp_path: Path) -> None:
    log_path = tmp_path / "server.log"
    with running_server(log_path=log_path) as base_url:
        assert requests.get(f"{base_url}/api/v1/protected/profile", timeout=5).status_code == 401
    lines = [json.loads(raw) for raw in log_path.read_text().splitlines() if raw.startswith("{")]
    about_it = [line for line in lines if "/api/v1/protected/profile" in json.dumps(line)]
    assert [line["logger"] for line in about_it] == ["authapi.access"]
    assert about_it[0]["request_id"]


def test_configured_logging_does_not_walk_the_stack_for_each_line(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # No line carries the caller's file or line: looking them up would cost every request.
    for name in ("_srcfile", "logThreads", "logMultiprocessing"):
        monkeypatch.setattr(logging, name, getattr(logging, name))
    root = logging.getLogger()
    monkeypatch.setattr(root, "handlers", list(root.handlers))
    monkeypatch.setattr(root, "level", root.level)
    configure_logging("INFO")
    records: list[logging.LogRecord] = []
    logger = logging.getLogger("tests.logs.caller")
    monkeypatch.setattr(logger, "handlers", [])
    logger.addHandler(_Recorder(records))
    logger.info("a line")
    assert records[0].funcName != "test_configured_logging_does_not_walk_the_stack_for_each_line"


class _Recorder(logging.Handler):
    def __init__(self, records: list[logging.LogRecord]) -> None:
        super().__init__()
        self.records = records

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)
