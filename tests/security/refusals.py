"""The one answer every refused token gets, whatever was wrong with it."""

from __future__ import annotations

from typing import Any

# Every refused token gets exactly this, whatever was wrong with it: no oracle for attackers.
TOKEN_REFUSED = {
    "type": "about:blank",
    "title": "Unauthorized",
    "detail": "The token is invalid, expired or revoked.",
    "status": 401,
}
INVALID_TOKEN_CHALLENGE = 'Bearer realm="auth-api", error="invalid_token"'


def assert_token_refused(response: Any) -> None:
    """Assert the one and only answer to a refused token."""
    assert response.status_code == 401, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["www-authenticate"] == INVALID_TOKEN_CHALLENGE
    assert response.json() == TOKEN_REFUSED
