"""Email syntax checks and the one normalized form used for storage and comparison."""

from __future__ import annotations

import unicodedata

from email_validator import EmailNotValidError, validate_email

from authapi.errors import InvalidInput

MAX_EMAIL_LENGTH = 254


def normalize_email(raw: str) -> str:
    """Return the canonical form of an email, or raise naming the rule it breaks."""
    # NFKC folds full-width and other compatibility look-alikes onto one spelling.
    candidate = unicodedata.normalize("NFKC", raw.strip())
    if not candidate:
        raise InvalidInput("email", "must not be empty")
    if len(candidate) > MAX_EMAIL_LENGTH:
        raise InvalidInput("email", f"must be at most {MAX_EMAIL_LENGTH} characters long")
    try:
        # `.test` is reserved for testing (RFC 6761), which is what developers trying the API
        # use; the other special-use names (`.localhost`, `.invalid`, `.onion`...) stay refused.
        result = validate_email(candidate, check_deliverability=False, test_environment=True)
    except EmailNotValidError:
        raise InvalidInput("email", "must be a valid email address") from None
    if "." not in result.ascii_domain:
        # test_environment would also admit a bare `@test`.
        raise InvalidInput("email", "must be a valid email address")
    return result.normalized.lower()
