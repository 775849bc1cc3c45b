"""Emails: real syntax, one normalized form, look-alikes folded together."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from authapi.emails import lookup_form, normalize_email
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


LOCAL_CHARACTERS = "abcAZ09_%+-.\"' !#~é"
LABELS = ["example", "Example", "sub", "a", "9", "a-b", "-ab", "ab-", "a--b", "xn--bcher-kva"]
TOP_LEVEL = ["com", "ORG", "test", "invalid", "localhost", "local", "onion", "arpa", "c0m"]
TOP_LEVEL += ["x", "123", "xn--p1ai", "bücher", "ｃｏｍ"]


@st.composite
def addresses(draw: st.DrawFn) -> str:
    local = draw(st.text(LOCAL_CHARACTERS, min_size=0, max_size=70))
    labels = draw(st.lists(st.sampled_from(LABELS), min_size=0, max_size=3))
    top = draw(st.sampled_from(TOP_LEVEL))
    padding = draw(st.sampled_from(["", " ", "\t"]))
    return padding + local + "@" + ".".join([*labels, top]) + padding


@settings(max_examples=1500, deadline=None)
@given(st.one_of(addresses(), st.text(max_size=80)))
def test_lookup_form_is_the_normalized_form_of_every_address_normalize_accepts(raw: str) -> None:
    try:
        normalized = normalize_email(raw)
    except InvalidInput:
        # A refused address names no account: whatever form comes back is itself refused,
        # so it can equal no stored form, and it is the throttle's key for such an address.
        form = lookup_form(raw)
        if form is not None:
            assert form == raw.strip().casefold()
            with pytest.raises(InvalidInput):
                normalize_email(form)
        return
    assert lookup_form(raw) == normalized


@pytest.mark.parametrize(
    "raw",
    [
        "Ada@Bücher.example",
        "ada@xn--bcher-kva.example",
        "ａｄａ@ｅｘａｍｐｌｅ.ｃｏｍ",
        "a!b@example.com",
    ],
)
def test_addresses_that_are_not_plain_take_the_full_validation(raw: str) -> None:
    assert lookup_form(raw) == normalize_email(raw)


def test_an_address_that_does_not_parse_names_no_account() -> None:
    assert lookup_form("ada@@example.com") is None
