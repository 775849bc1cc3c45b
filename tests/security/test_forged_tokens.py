"""Forged, tampered, confused and stale tokens: each one gets the same 401 and nothing else.

Every attack starts from the victim's real claims, so the one thing it changes is the only
reason for the refusal; the first test proves that `forge` alone is not refused.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa
from starlette.testclient import TestClient

from authapi.keys import generate_private_key_pem, hmac_kid, public_key_pem
from authapi.settings import Settings
from authapi.web.app import create_app
from tests.api_moves import Account, Api
from tests.clock import Clock
from tests.config import CHEAP_HASHING, SECRET
from tests.forgery import b64url, claims_of, forge, header_of, hmac_jwt, raw_jwt, segment
from tests.security.refusals import assert_token_refused

KID = hmac_kid(SECRET)
LEEWAY = 30


@pytest.fixture
def victim(api: Api) -> Account:
    return api.account("victim@example.com")


@pytest.fixture
def intruder(api: Api) -> Account:
    return api.account("intruder@example.com")


def now() -> int:
    # PyJWT judges exp, iat and nbf by the real clock, not by the app's test clock.
    return int(time.time())


def test_control_a_token_forged_with_the_servers_own_key_is_accepted(
    api: Api, victim: Account
) -> None:
    assert api.profile(forge(claims_of(victim.access_token))).status_code == 200
    assert api.refresh(forge(claims_of(victim.refresh_token))).status_code == 200


# -- tampering -----------------------------------------------------------------------------


def swap_subject(victim: Account, intruder: Account) -> str:
    header, _, signature = intruder.access_token.split(".")
    claims = {**claims_of(intruder.access_token), "sub": claims_of(victim.access_token)["sub"]}
    return f"{header}.{segment(claims)}.{signature}"


def extend_expiry(victim: Account, intruder: Account) -> str:
    header, _, signature = victim.access_token.split(".")
    claims = claims_of(victim.access_token)
    return f"{header}.{segment({**claims, 'exp': claims['exp'] + 365 * 86400})}.{signature}"


def promote_refresh_to_access(victim: Account, intruder: Account) -> str:
    header, _, signature = victim.refresh_token.split(".")
    return f"{header}.{segment({**claims_of(victim.refresh_token), 'type': 'access'})}.{signature}"


def flip_signature_character(victim: Account, intruder: Account) -> str:
    head, _, signature = victim.access_token.rpartition(".")
    flipped = ("A" if signature[0] != "A" else "B") + signature[1:]
    return f"{head}.{flipped}"


def strip_signature(victim: Account, intruder: Account) -> str:
    head, _, _ = victim.access_token.rpartition(".")
    return f"{head}."


def splice_signature_from_another_token(victim: Account, intruder: Account) -> str:
    head, _, _ = victim.access_token.rpartition(".")
    return f"{head}.{intruder.access_token.rpartition('.')[2]}"


def rewrite_header_algorithm(victim: Account, intruder: Account) -> str:
    _, claims, signature = victim.access_token.split(".")
    return f"{segment({**header_of(victim.access_token), 'alg': 'HS512'})}.{claims}.{signature}"


@pytest.mark.parametrize(
    "tamper",
    [
        swap_subject,
        extend_expiry,
        promote_refresh_to_access,
        flip_signature_character,
        strip_signature,
        splice_signature_from_another_token,
        rewrite_header_algorithm,
    ],
)
def test_tampered_token_is_refused(
    api: Api, victim: Account, intruder: Account, tamper: Callable[[Account, Account], str]
) -> None:
    assert_token_refused(api.profile(tamper(victim, intruder)))
    assert api.profile(victim.access_token).status_code == 200


# -- algorithm attacks ---------------------------------------------------------------------


@pytest.mark.parametrize("alg", ["none", "None", "NONE", "nOnE"])
def test_none_algorithm_token_is_refused(api: Api, victim: Account, alg: str) -> None:
    claims = claims_of(victim.access_token)
    assert_token_refused(api.profile(raw_jwt({"alg": alg, "typ": "JWT", "kid": KID}, claims)))


def test_none_algorithm_refresh_token_is_refused(api: Api, victim: Account) -> None:
    claims = claims_of(victim.refresh_token)
    assert_token_refused(api.refresh(raw_jwt({"alg": "none", "kid": KID}, claims)))


def test_hs512_token_signed_with_the_servers_own_secret_is_refused(
    api: Api, victim: Account
) -> None:
    # The algorithm is pinned per key: even the right secret under another algorithm fails.
    header = {"alg": "HS512", "typ": "JWT", "kid": KID}
    token = hmac_jwt(SECRET.encode(), header, claims_of(victim.access_token), digest="sha512")
    assert_token_refused(api.profile(token))


def test_rs256_header_on_an_hmac_server_is_refused(api: Api, victim: Account) -> None:
    attacker = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    token = jwt.encode(
        claims_of(victim.access_token), attacker, algorithm="RS256", headers={"kid": KID}
    )
    assert_token_refused(api.profile(token))


def test_rs256_header_with_an_hmac_signature_is_refused(api: Api, victim: Account) -> None:
    token = hmac_jwt(SECRET.encode(), {"alg": "RS256", "kid": KID}, claims_of(victim.access_token))
    assert_token_refused(api.profile(token))


@pytest.fixture
def asymmetric(request: pytest.FixtureRequest, clock: Clock) -> Iterator[tuple[TestClient, str]]:
    """A server that signs with a key pair; yields its client and its private key in PEM."""
    private_pem = generate_private_key_pem(request.param)
    settings = Settings(
        jwt_algorithm=request.param,
        jwt_private_key=private_pem,
        **CHEAP_HASHING,
        storage_url="memory://",
    )
    with create_app(settings, validate_responses=True, clock=clock).test_client() as client:
        yield client, private_pem


@pytest.mark.parametrize("asymmetric", ["EdDSA", "ES256", "RS256"], indirect=True)
def test_hs256_token_signed_with_the_public_key_pem_is_refused(
    asymmetric: tuple[TestClient, str],
) -> None:
    client, private_pem = asymmetric
    api = Api(client)
    victim = api.account()
    assert api.profile(victim.access_token).status_code == 200
    # The classic confusion: the public key, which anyone can fetch, used as an HMAC secret.
    header = {**header_of(victim.access_token), "alg": "HS256"}
    for public in (public_key_pem(private_pem), public_key_pem(private_pem).strip()):
        token = hmac_jwt(public.encode(), header, claims_of(victim.access_token))
        assert_token_refused(api.profile(token))


@pytest.mark.parametrize("asymmetric", ["EdDSA"], indirect=True)
def test_token_carrying_its_own_jwk_or_jku_is_refused(asymmetric: tuple[TestClient, str]) -> None:
    client, _ = asymmetric
    api = Api(client)
    victim = api.account()
    kid = header_of(victim.access_token)["kid"]
    attacker = ed25519.Ed25519PrivateKey.generate()
    for extra in (
        {"jwk": jwt.algorithms.OKPAlgorithm.to_jwk(attacker.public_key(), as_dict=True)},
        {"jku": "https://attacker.example/jwks.json"},
        {"x5u": "https://attacker.example/cert.pem"},
    ):
        token = jwt.encode(
            claims_of(victim.access_token),
            attacker,
            algorithm="EdDSA",
            headers={"kid": kid, **extra},
        )
        assert_token_refused(api.profile(token))


# -- wrong keys ----------------------------------------------------------------------------

OTHER_SECRET = "another-secret-key-that-is-at-least-32-bytes-long"


def test_token_signed_with_another_secret_under_the_servers_kid_is_refused(
    api: Api, victim: Account
) -> None:
    assert_token_refused(api.profile(forge(claims_of(victim.access_token), key=OTHER_SECRET)))


def test_token_signed_with_another_secret_under_its_own_kid_is_refused(
    api: Api, victim: Account
) -> None:
    token = forge(claims_of(victim.access_token), key=OTHER_SECRET, kid=hmac_kid(OTHER_SECRET))
    assert_token_refused(api.profile(token))


def test_token_with_an_unknown_kid_is_refused(api: Api, victim: Account) -> None:
    assert_token_refused(
        api.profile(forge(claims_of(victim.access_token), kid="hs-0123456789abcdef"))
    )


@pytest.mark.parametrize(
    "kid",
    [
        "../../etc/passwd",
        "../../../../../../dev/null",
        "' OR 1=1 --",
        '"; DROP TABLE users; --',
        "http://attacker.example/jwks.json",
        "file:///etc/passwd",
        "",
        "\u0000",
        "hs-" + "0" * 3000,
        42,
        None,
        ["hs-0123456789abcdef"],
        {"$ne": None},
    ],
    ids=lambda kid: repr(kid)[:24],
)
def test_kid_injection_is_refused(api: Api, victim: Account, kid: Any) -> None:
    # Signed with the real secret: only the kid is hostile, and it is never a path or a query.
    header = {"alg": "HS256", "typ": "JWT", "kid": kid}
    assert_token_refused(
        api.profile(hmac_jwt(SECRET.encode(), header, claims_of(victim.access_token)))
    )


def test_token_without_a_kid_is_refused(api: Api, victim: Account) -> None:
    token = jwt.encode(claims_of(victim.access_token), SECRET, algorithm="HS256")
    assert "kid" not in header_of(token)
    assert_token_refused(api.profile(token))


# -- time ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("claim", "offset"),
    [
        ("exp", -LEEWAY - 5),
        ("exp", -86400),
        ("iat", LEEWAY + 60),
        ("iat", 86400),
        ("nbf", LEEWAY + 60),
    ],
)
def test_expired_or_not_yet_valid_token_is_refused(
    api: Api, victim: Account, claim: str, offset: int
) -> None:
    claims = {**claims_of(victim.access_token), claim: now() + offset}
    assert_token_refused(api.profile(forge(claims)))


def test_control_clock_skew_within_the_leeway_is_tolerated(api: Api, victim: Account) -> None:
    claims = {**claims_of(victim.access_token), "iat": now() + 10, "nbf": now() + 10}
    assert api.profile(forge(claims)).status_code == 200


# -- claims --------------------------------------------------------------------------------

REQUIRED_CLAIMS = ["exp", "iat", "sub", "jti", "type", "sid", "iss", "aud"]


@pytest.mark.parametrize("claim", REQUIRED_CLAIMS)
def test_access_token_missing_a_required_claim_is_refused(
    api: Api, victim: Account, claim: str
) -> None:
    claims = claims_of(victim.access_token)
    del claims[claim]
    assert_token_refused(api.profile(forge(claims)))


@pytest.mark.parametrize("claim", REQUIRED_CLAIMS)
def test_refresh_token_missing_a_required_claim_is_refused(
    api: Api, victim: Account, claim: str
) -> None:
    claims = claims_of(victim.refresh_token)
    del claims[claim]
    assert_token_refused(api.refresh(forge(claims)))
    assert api.refresh(victim.refresh_token).status_code == 200


@pytest.mark.parametrize(
    "changes",
    [
        {"iss": "someone-else"},
        {"aud": "another-service"},
        {"aud": ["auth-api", "another-service"]},
        {"type": "admin"},
        {"sub": ""},
        {"sub": 12345},
        {"sid": "no-such-session"},
        {"exp": "tomorrow"},
        {"exp": "9999999999"},
        {"iat": True},
        {"nbf": False},
        {"aud": "auth-api/refresh"},
    ],
    ids=lambda changes: "-".join(f"{k}={v}" for k, v in changes.items())[:40],
)
def test_token_with_a_wrong_claim_value_is_refused(
    api: Api, victim: Account, changes: dict[str, Any]
) -> None:
    assert_token_refused(api.profile(forge({**claims_of(victim.access_token), **changes})))


def test_token_naming_another_users_session_is_refused(
    api: Api, victim: Account, intruder: Account
) -> None:
    claims = {**claims_of(intruder.access_token), "sid": claims_of(victim.access_token)["sid"]}
    assert_token_refused(api.profile(forge(claims)))


def test_refresh_token_is_refused_as_access_token(api: Api, victim: Account) -> None:
    assert_token_refused(api.profile(victim.refresh_token))


def test_access_token_is_refused_as_refresh_token(api: Api, victim: Account) -> None:
    assert_token_refused(api.refresh(victim.access_token))
    assert api.refresh(victim.refresh_token).status_code == 200


def test_refresh_token_fails_a_resource_servers_standard_access_token_check(
    victim: Account,
) -> None:
    # What a service holding the key checks: signature, iss, aud and exp, the standard way.
    def standard_check(token: str) -> dict[str, Any]:
        return jwt.decode(
            token, SECRET, algorithms=["HS256"], audience="auth-api", issuer="auth-api"
        )

    assert standard_check(victim.access_token)["sub"] == claims_of(victim.access_token)["sub"]
    with pytest.raises(jwt.InvalidAudienceError):
        standard_check(victim.refresh_token)
    assert header_of(victim.access_token)["typ"] == "at+jwt"
    assert header_of(victim.refresh_token)["typ"] != "at+jwt"


@pytest.mark.parametrize("typ", [None, "JWT", "rt+jwt", "AT+JWT"])
def test_access_token_without_the_access_typ_is_refused(
    api: Api, victim: Account, typ: str | None
) -> None:
    assert_token_refused(api.profile(forge(claims_of(victim.access_token), typ=typ)))


@pytest.mark.parametrize("typ", [None, "JWT", "at+jwt"])
def test_refresh_token_without_the_refresh_typ_is_refused(
    api: Api, victim: Account, typ: str | None
) -> None:
    assert_token_refused(api.refresh(forge(claims_of(victim.refresh_token), typ=typ)))
    assert api.refresh(victim.refresh_token).status_code == 200


def test_refresh_claims_under_the_access_audience_and_typ_are_refused_everywhere(
    api: Api, victim: Account
) -> None:
    # A refresh token dressed up as an access token: the type claim still says refresh.
    claims = {**claims_of(victim.refresh_token), "aud": "auth-api"}
    assert_token_refused(api.profile(forge(claims, typ="at+jwt")))
    assert_token_refused(api.refresh(forge(claims, typ="rt+jwt")))


@pytest.mark.parametrize("claim", ["exp", "iat", "nbf"])
def test_time_claim_written_as_a_string_is_refused(api: Api, victim: Account, claim: str) -> None:
    claims = claims_of(victim.access_token)
    value = {"exp": claims["exp"], "iat": claims["iat"], "nbf": claims["iat"]}[claim]
    assert_token_refused(api.profile(forge({**claims, claim: str(value)})))
    assert api.profile(forge({**claims, claim: value})).status_code == 200  # the control


# -- malformed tokens ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "token",
    [
        "garbage",
        "a.b.c",
        "a.b",
        "a.b.c.d",
        "....",
        segment([1, 2, 3]) + "." + segment({}) + ".",
        segment("header") + "." + segment({}) + ".",
        b64url(b"\xff\xfe\xfd") + "." + segment({}) + ".",
        "é.é.é",
        "x" * 5000,
    ],
    ids=lambda token: repr(token)[:24],
)
def test_malformed_token_is_refused(api: Api, token: str) -> None:
    # Sent as raw bytes, so that a token outside ASCII reaches the server as it is.
    authorization = f"Bearer {token}".encode()
    response = api.client.get("/api/v1/protected/profile", headers={"Authorization": authorization})
    assert_token_refused(response)
    if len(token) <= 4096:  # longer ones are refused by the schema first (400)
        assert_token_refused(api.refresh(token))


def test_deeply_nested_token_header_is_refused_not_a_server_error(api: Api) -> None:
    # Found by this suite: it was a RecursionError and a 500 until 8592d12.
    token = f"{b64url(b'[' * 1500 + b']' * 1500)}.{segment({})}.{b64url(b'sig')}"
    assert len(token) < 4096  # under MAX_TOKEN_LENGTH, so the header is parsed
    assert_token_refused(api.profile(token))
