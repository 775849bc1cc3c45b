"""Auth events: the subscribers an app passes in hear every one, and each is one log line."""

from __future__ import annotations

import logging

import pytest

from authapi.events import Events, logger


def test_subscribers_hear_every_event_whatever_the_log_level() -> None:
    heard: list[str] = []
    events = Events(heard.append)
    level = logger.level
    logger.setLevel(logging.CRITICAL)
    try:
        events.emit("login", user_id="u")
        events.emit("refresh_replayed", user_id="u")
    finally:
        logger.setLevel(level)
    assert heard == ["login", "refresh_replayed"]


def test_subscribers_hear_only_the_events_of_their_own_sink() -> None:
    ours: list[str] = []
    theirs: list[str] = []
    Events(ours.append).emit("login", user_id="u")
    Events(theirs.append).emit("logout", user_id="u")
    assert ours == ["login"]
    assert theirs == ["logout"]


def test_an_event_is_one_log_line_with_its_name_and_fields(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.INFO, logger="authapi.events"):
        Events().emit("logout", user_id="u", session_id="s")
    [record] = caplog.records
    assert record.name == "authapi.events"
    assert record.getMessage() == "logout"
    assert record.fields == {"event": "logout", "user_id": "u", "session_id": "s"}  # type: ignore[attr-defined]
