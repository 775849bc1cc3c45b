"""Passkey names: trimmed, `Passkey` when blank, and never a control character."""

from __future__ import annotations

import pytest

from authapi.errors import InvalidInput
from authapi.passkeys import passkey_name


@pytest.mark.parametrize(
    ("given", "kept"),
    [(None, "Passkey"), ("   ", "Passkey"), ("  Phone ", "Phone"), ("Clé USB", "Clé USB")],
)
def test_a_name_is_trimmed_and_a_blank_one_is_passkey(given: str | None, kept: str) -> None:
    assert passkey_name(given) == kept


@pytest.mark.parametrize("given", ["a\u0007b", "a\x00b", "a\u0085b", "x" * 65])
def test_a_name_with_a_control_character_or_too_long_is_refused(given: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        passkey_name(given)
    assert refused.value.field == "name"
    assert given not in str(refused.value)
