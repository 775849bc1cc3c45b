"""Which Origin a browser-session request may come from."""

from __future__ import annotations

import pytest

from authapi.web.origins import is_allowed_origin

LISTED = ("https://app.example.com", "http://127.0.0.1:5173")


@pytest.mark.parametrize(
    ("origin", "host"),
    [
        (None, "auth.example.com"),
        ("https://auth.example.com", "auth.example.com"),
        ("https://auth.example.com", "auth.example.com:443"),
        ("http://127.0.0.1:8000", "127.0.0.1:8000"),
        ("https://app.example.com", "auth.example.com"),
        ("https://APP.example.com/", "auth.example.com"),
        ("https://app.example.com:443", "auth.example.com"),
        ("http://127.0.0.1:5173", "127.0.0.1:8000"),
        ("http://[::1]:8000", "[::1]:8000"),
    ],
)
def test_own_listed_and_absent_origins_are_allowed(origin: str | None, host: str) -> None:
    assert is_allowed_origin(origin, host, LISTED)


@pytest.mark.parametrize(
    ("origin", "host"),
    [
        ("https://evil.example", "auth.example.com"),
        ("null", "auth.example.com"),
        ("", "auth.example.com"),
        ("https://app.example.com.evil.example", "auth.example.com"),
        ("https://app.example.com:8443", "auth.example.com"),
        ("http://127.0.0.1:5174", "127.0.0.1:8000"),
        ("http://localhost:5173", "127.0.0.1:8000"),
        ("ftp://app.example.com", "auth.example.com"),
        ("https://app.example.com/path", "auth.example.com"),
        ("http://127.0.0.1:99999", "127.0.0.1:8000"),
        ("https://auth.example.com", None),
    ],
)
def test_other_origins_are_refused(origin: str, host: str | None) -> None:
    assert not is_allowed_origin(origin, host, LISTED)


def test_a_wildcard_in_cors_origins_admits_no_origin() -> None:
    assert not is_allowed_origin("https://evil.example", "auth.example.com", ("*",))
