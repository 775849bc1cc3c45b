"""Secrets at rest: AES-GCM bound to the factor, rotation, and recovery codes' HMACs."""

from __future__ import annotations

import os

import pytest

from authapi.recovery_codes import CODES_PER_SET, new_codes, normalized
from authapi.secret_box import SecretBox, SecretUnreadable

OLD, NEW = os.urandom(32), os.urandom(32)


def test_a_sealed_secret_opens_for_its_own_factor_only() -> None:
    box = SecretBox((NEW,))
    sealed = box.seal(b"secret bytes", "factor-1")
    assert b"secret bytes" not in sealed.encode()
    assert box.open(sealed, "factor-1") == b"secret bytes"
    with pytest.raises(SecretUnreadable):
        box.open(sealed, "factor-2")


def test_sealing_twice_gives_two_ciphertexts() -> None:
    box = SecretBox((NEW,))
    assert box.seal(b"s", "f") != box.seal(b"s", "f")


def test_a_previous_key_still_opens_what_it_sealed_and_new_secrets_use_the_current() -> None:
    sealed_before = SecretBox((OLD,)).seal(b"s", "f")
    rotated = SecretBox((NEW, OLD))
    assert rotated.open(sealed_before, "f") == b"s"
    assert SecretBox((NEW,)).open(rotated.seal(b"t", "f"), "f") == b"t"
    with pytest.raises(SecretUnreadable):
        SecretBox((NEW,)).open(sealed_before, "f")


@pytest.mark.parametrize("garbage", ["", "not base64!", "AAAA", "A" * 200])
def test_garbage_is_unreadable_and_nothing_else(garbage: str) -> None:
    with pytest.raises(SecretUnreadable):
        SecretBox((NEW,)).open(garbage, "f")


def test_recovery_codes_carry_80_bits_each_and_are_macd_not_stored() -> None:
    codes = new_codes()
    assert len(codes) == CODES_PER_SET == len(set(codes))
    for code in codes:
        assert len(normalized(code)) == 16  # 16 base32 characters: 80 bits
    box = SecretBox((NEW, OLD))
    macs = box.macs(normalized(codes[0]))
    assert len(macs) == 2 and all(len(mac) == 64 for mac in macs)
    assert normalized(codes[0]) not in macs[0]
    assert SecretBox((OLD,)).macs(normalized(codes[0]))[0] == macs[1]


def test_a_recovery_code_is_the_same_code_whatever_its_case_dashes_and_spaces() -> None:
    assert normalized(" abcd-EFGH ijkl-mnop ") == "ABCDEFGHIJKLMNOP"
