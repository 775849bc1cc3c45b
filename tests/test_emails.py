"""Emails: real syntax, one normalized form, look-alikes folded together."""

from __future__ import annotations

import pytest

from authapi.emails import normalize_email
from authapi.errors import InvalidInput


@pytest.mark.parametrize(
    ("raw", "normalized"),
    [
        ("ada@example.com", "ada@example.com"),
        ("  Ada@Example.COM \t", "ada@example.com"),
        ("ａｄａ@ｅｘａｍｐｌｅ.ｃｏｍ", "ada@example.com"),
        ("ada+tag@sub.example.org", "ada+tag@sub.example.org"),
        # `.test` is reserved for testing (RFC 6761), and testing is what it is used for here.
        ("3@2.test", "3@2.test"),
        ("Dev@App.Test", "dev@app.test"),
    ],
)
def test_email_is_trimmed_folded_and_lowercased(raw: str, normalized: str) -> None:
    assert normalize_email(raw) == normalized


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "   ",
        "plainaddress",
        "@example.com",
        "ada@",
        "ada@@example.com",
        "ada@example",
        "ada@test",
        "ada@localhost",
        "ada@app.localhost",
        "ada@x.invalid",
        "ada@x.onion",
        "ada@[127.0.0.1]",
        "ada example@example.com",
        "ada@exa mple.com",
        "a" * 250 + "@example.com",
    ],
)
def test_invalid_email_is_refused_naming_the_field(raw: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        normalize_email(raw)
    assert refused.value.field == "email"
