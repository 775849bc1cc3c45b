"""RFC 6238: the Appendix B vectors, the drift window, and the URI an app reads."""

from __future__ import annotations

import hashlib
from urllib.parse import parse_qs, urlsplit

import pytest

from authapi.totp import base32, code_at, matching_step, otpauth_uri, step_at

# RFC 6238 Appendix B: the seeds, 20, 32 and 64 bytes of "1234567890" repeated.
SEEDS = {
    "sha1": (b"12345678901234567890", hashlib.sha1),
    "sha256": (b"12345678901234567890123456789012", hashlib.sha256),
    "sha512": (
        b"1234567890123456789012345678901234567890123456789012345678901234",
        hashlib.sha512,
    ),
}
VECTORS = [
    (59, "94287082", "46119246", "90693936"),
    (1111111109, "07081804", "68084774", "25091201"),
    (1111111111, "14050471", "67062674", "99943326"),
    (1234567890, "89005924", "91819424", "93441116"),
    (2000000000, "69279037", "90698825", "38618901"),
    (20000000000, "65353130", "77737706", "47863826"),
]


@pytest.mark.parametrize(("time", "sha1", "sha256", "sha512"), VECTORS)
def test_the_rfc_6238_appendix_b_vectors_hold(
    time: int, sha1: str, sha256: str, sha512: str
) -> None:
    for algorithm, expected in (("sha1", sha1), ("sha256", sha256), ("sha512", sha512)):
        seed, digest = SEEDS[algorithm]
        assert code_at(seed, step_at(time), digits=8, digest=digest) == expected


def test_the_service_uses_six_digits_of_the_sha1_code() -> None:
    seed = SEEDS["sha1"][0]
    assert code_at(seed, step_at(59)) == "287082"


@pytest.mark.parametrize("offset", [-1, 0, 1])
def test_a_code_of_the_step_before_now_or_after_is_matched_to_its_step(offset: int) -> None:
    seed = SEEDS["sha1"][0]
    now = 1_111_111_111
    code = code_at(seed, step_at(now) + offset)
    assert matching_step(seed, code, now) == step_at(now) + offset


@pytest.mark.parametrize("offset", [-2, 2])
def test_a_code_two_steps_away_is_refused(offset: int) -> None:
    seed = SEEDS["sha1"][0]
    now = 1_111_111_111
    assert matching_step(seed, code_at(seed, step_at(now) + offset), now) is None


@pytest.mark.parametrize("code", ["", "12345", "1234567", "２８７０８２", "abcdef", "\x00" * 6])
def test_anything_but_the_code_matches_nothing_and_raises_nothing(code: str) -> None:
    assert matching_step(SEEDS["sha1"][0], code, 59) is None


def test_the_otpauth_uri_names_the_issuer_the_account_and_the_parameters() -> None:
    secret = b"\x00" * 20
    uri = otpauth_uri(secret, "ada@example.com", "auth-api")
    parts = urlsplit(uri)
    assert (parts.scheme, parts.netloc) == ("otpauth", "totp")
    assert parts.path == "/auth-api:ada@example.com"
    query = parse_qs(parts.query)
    assert query == {
        "secret": [base32(secret)],
        "issuer": ["auth-api"],
        "algorithm": ["SHA1"],
        "digits": ["6"],
        "period": ["30"],
    }
    assert "=" not in base32(secret)
