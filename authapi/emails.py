"""Email syntax checks and the one normalized form used for storage and comparison."""

from __future__ import annotations

import re
import unicodedata

from email_validator import EmailNotValidError, validate_email

from authapi.errors import InvalidInput

MAX_EMAIL_LENGTH = 254
MAX_LOCAL_PART_LENGTH = 64
# A plain address: an ASCII dot-atom local part, and ASCII letter-digit-hyphen labels that
# end in a top-level label of letters. `lookup_form` also refuses "--" in its domain, so
# that no IDNA label ("xn--…"), whose normalized form is Unicode, is taken for plain.
_PLAIN_ADDRESS = re.compile(
    r"[A-Za-z0-9_%+-]+(?:\.[A-Za-z0-9_%+-]+)*"
    r"@((?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63})"
)


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


def lookup_form(raw: str) -> str | None:
    """Return the form under which a login's email names an account, or None for no account.

    It is `normalize_email`'s answer for every address that one accepts. A plain ASCII
    address skips the full validation, a tenth of a login's event-loop work: lowercasing
    is all its normalization does. Such an address that `normalize_email` would refuse (a
    special-use domain such as `.invalid`) comes back lowercased, and still names no
    account: every stored form passed `normalize_email`, and ASCII case never changes its
    answer. tests/test_emails.py holds the two to one answer.
    """
    candidate = unicodedata.normalize("NFKC", raw.strip())
    plain = _PLAIN_ADDRESS.fullmatch(candidate)
    if (
        plain is not None
        and len(candidate) <= MAX_EMAIL_LENGTH
        and candidate.index("@") <= MAX_LOCAL_PART_LENGTH
        and "--" not in plain.group(1)
    ):
        return candidate.lower()
    try:
        return normalize_email(raw)
    except InvalidInput:
        return None
