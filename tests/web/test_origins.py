"""Which Origin a browser-session request may come from."""

from __future__ import annotations

import pytest

from authapi.web.origins import is_allowed_origin

LISTED = ("https://app.example.com", "http://127.0.0.1:5173")


@pytest.mark.parametrize(
    ("origin", "scheme", "host"),
    [
        (None, "https", "auth.example.com"),
        ("https://auth.example.com", "https", "auth.example.com"),
        ("https://auth.example.com", "https", "auth.example.com:443"),
        ("https://auth.example.com", "HTTPS", "auth.example.com"),
        ("http://127.0.0.1:8000", "http", "127.0.0.1:8000"),
        ("http://auth.example.com", "http", "auth.example.com:80"),
        ("https://app.example.com", "https", "auth.example.com"),
        ("https://app.example.com", "http", "auth.example.com"),
        ("https://APP.example.com/", "https", "auth.example.com"),
        ("https://app.example.com:443", "https", "auth.example.com"),
        ("http://127.0.0.1:5173", "http", "127.0.0.1:8000"),
        ("http://[::1]:8000", "http", "[::1]:8000"),
    ],
)
def test_own_listed_and_absent_origins_are_allowed(
    origin: str | None, scheme: str, host: str
) -> None:
    assert is_allowed_origin(origin, scheme, host, LISTED)


@pytest.mark.parametrize(
    ("origin", "scheme", "host"),
    [
        ("https://evil.example", "https", "auth.example.com"),
        ("null", "https", "auth.example.com"),
        ("", "https", "auth.example.com"),
        ("https://app.example.com.evil.example", "https", "auth.example.com"),
        ("https://app.example.com:8443", "https", "auth.example.com"),
        ("http://127.0.0.1:5174", "http", "127.0.0.1:8000"),
        ("http://localhost:5173", "http", "127.0.0.1:8000"),
        ("ftp://app.example.com", "https", "auth.example.com"),
        ("https://app.example.com/path", "https", "auth.example.com"),
        ("http://127.0.0.1:99999", "http", "127.0.0.1:8000"),
        ("https://auth.example.com", "https", None),
        # The API's host on the other scheme is another origin.
        ("https://auth.example.com", "http", "auth.example.com"),
        ("http://auth.example.com", "https", "auth.example.com"),
        ("http://auth.example.com", "https", "auth.example.com:443"),
        ("https://127.0.0.1:8000", "http", "127.0.0.1:8000"),
        ("http://auth.example.com", "ws", "auth.example.com"),
    ],
)
def test_other_origins_are_refused(origin: str, scheme: str, host: str | None) -> None:
    assert not is_allowed_origin(origin, scheme, host, LISTED)


def test_a_wildcard_in_cors_origins_admits_no_origin() -> None:
    assert not is_allowed_origin("https://evil.example", "https", "auth.example.com", ("*",))
