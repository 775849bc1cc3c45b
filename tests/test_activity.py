"""authapi/activity.py: the events the use cases build, their cursors, and what they show."""

from __future__ import annotations

import uuid

import pytest

from authapi.activity import decode_cursor, details_of, encode_cursor, event
from authapi.errors import InvalidInput
from authapi.records import NO_PEER, Peer
from authapi.store import MemoryStore
from authapi.web.services import Services
from tests.api_moves import PASSWORD
from tests.clock import Clock
from tests.config import settings_for

ADA = "ada@example.com"
NOW = 1_800_000_020  # 20 s into a minute


def test_a_cursor_reads_back_to_the_event_it_points_past() -> None:
    event_id = str(uuid.uuid4())
    assert decode_cursor(encode_cursor(event_id)) == event_id


@pytest.mark.parametrize("cursor", ["", "!!!!", "AAAA", "é", "A" * 30])
def test_anything_but_a_cursor_is_refused_naming_the_parameter(cursor: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        decode_cursor(cursor)
    assert refused.value.field == "cursor"


def test_failures_merge_by_address_and_minute_only() -> None:
    stranger, other = Peer("198.51.100.23"), Peer("203.0.113.7")
    key = event("login_failed", "u", NOW, stranger).merge_key
    assert key is not None
    assert event("login_failed", "u", NOW + 39, stranger).merge_key == key
    assert event("login_failed", "u", NOW + 40, stranger).merge_key != key
    assert event("login_failed", "u", NOW, other).merge_key != key
    assert event("login_throttled", "u", NOW, stranger).merge_key != key
    assert event("login_succeeded", "u", NOW, stranger).merge_key is None


def test_details_show_only_the_reason_and_the_count_where_they_mean_something() -> None:
    failed = event("login_failed", "u", NOW, NO_PEER, reason="wrong_password")
    assert details_of(failed) == {"reason": "wrong_password", "count": 1}
    assert details_of(event("login_succeeded", "u", NOW, NO_PEER, session_id="s")) == {}


def test_a_reason_outside_the_closed_list_is_a_bug() -> None:
    with pytest.raises(ValueError):
        event("login_failed", "u", NOW, NO_PEER, reason="the password was hunter2")


async def test_a_rehash_at_login_is_recorded_with_the_login() -> None:
    store, clock = MemoryStore(), Clock()
    older = Services.build(settings_for(bcrypt_rounds=5), store=store, clock=clock)
    current = Services.build(settings_for(bcrypt_rounds=4), store=store, clock=clock)
    try:
        user = await older.accounts.register(ADA, PASSWORD)
        await current.accounts.login(ADA, PASSWORD, Peer("203.0.113.7", "phone/1.0"))
        page = await store.list_activity(user.id, limit=10)
        assert [item.type for item in page.items] == ["login_succeeded", "password_rehashed"]
        assert page.items[1].ip == "203.0.113.7"
    finally:
        older.hasher.close()
        current.hasher.close()


def test_failures_for_different_reasons_stay_apart() -> None:
    stranger = Peer("198.51.100.23")
    wrong = event("login_failed", "u", NOW, stranger, reason="wrong_password")
    raced = event("login_failed", "u", NOW, stranger, reason="credentials_changed")
    assert wrong.merge_key != raced.merge_key
