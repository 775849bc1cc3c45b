"""Tokens: claims, pinning of the algorithm, and every way a token is refused."""

from __future__ import annotations

import base64
import json
import time

import jwt
import pytest

from authapi.errors import InvalidToken
from authapi.keys import hmac_kid
from authapi.settings import Settings
from authapi.tokens import MAX_TOKEN_LENGTH, TokenCodec, fingerprint
from tests.config import SECRET
from tests.forgery import forge

USER, SESSION = "3f1c2b8e-0000-4000-8000-000000000001", "session-1"
REFRESH_AUDIENCE = "auth-api/refresh"


@pytest.fixture
def codec() -> TokenCodec:
    return TokenCodec(Settings(jwt_secret_key=SECRET))


def claims_for(codec: TokenCodec, token_type: str = "access", **overrides: object) -> dict:
    now = int(time.time())
    payload = {
        "iss": "auth-api",
        "aud": REFRESH_AUDIENCE if token_type == "refresh" else "auth-api",
        "sub": USER,
        "sid": SESSION,
        "jti": "j1",
        "type": token_type,
        "iat": now,
        "exp": now + 60,
    }
    payload.update(overrides)
    return {k: v for k, v in payload.items() if v is not None}


def sign(payload: dict, key: str = SECRET, algorithm: str = "HS256") -> str:
    return forge(payload, key, algorithm)


def reason_for(codec: TokenCodec, token: str, expected: str = "access") -> str:
    with pytest.raises(InvalidToken) as refused:
        codec.decode(token, expected)  # type: ignore[arg-type]
    return refused.value.reason


def test_issued_pair_carries_every_required_claim(codec: TokenCodec) -> None:
    now = int(time.time())
    pair = codec.issue_pair(USER, SESSION, now + 3600, now)
    access = jwt.decode(pair.access_token, options={"verify_signature": False})
    assert set(access) == {
        *("iss", "aud", "sub", "sid", "jti", "type", "iat", "exp"),
        *("acr", "amr", "auth_time"),
    }
    assert access["sub"] == USER
    assert access["type"] == "access"
    assert codec.decode(pair.refresh_token, "refresh").sid == SESSION


def test_access_token_is_typed_at_jwt_and_refresh_token_has_its_own_type_and_audience(
    codec: TokenCodec,
) -> None:
    now = int(time.time())
    pair = codec.issue_pair(USER, SESSION, now + 3600, now)
    assert jwt.get_unverified_header(pair.access_token)["typ"] == "at+jwt"
    assert jwt.get_unverified_header(pair.refresh_token)["typ"] == "rt+jwt"
    refresh = jwt.decode(pair.refresh_token, options={"verify_signature": False})
    assert refresh["aud"] == REFRESH_AUDIENCE


def resource_server_check(token: str) -> dict:
    """Verify an access token the way README tells another service to, typ included."""
    decoded = jwt.decode_complete(
        token, SECRET, algorithms=["HS256"], audience="auth-api", issuer="auth-api"
    )
    if decoded["header"].get("typ") != "at+jwt":
        raise jwt.InvalidTokenError("not an access token")
    return decoded["payload"]


def test_refresh_token_fails_a_resource_servers_standard_access_token_check(
    codec: TokenCodec,
) -> None:
    now = int(time.time())
    pair = codec.issue_pair(USER, SESSION, now + 3600, now)
    assert resource_server_check(pair.access_token)["sub"] == USER  # the control
    # Signature, iss, aud and exp, checked the standard way: the audience alone refuses it.
    with pytest.raises(jwt.InvalidAudienceError):
        jwt.decode(
            pair.refresh_token, SECRET, algorithms=["HS256"], audience="auth-api", issuer="auth-api"
        )
    with pytest.raises(jwt.InvalidTokenError):
        resource_server_check(pair.refresh_token)
    # A verifier that checks the typ but forgets the audience refuses it too.
    unchecked_audience = jwt.decode_complete(
        pair.refresh_token, SECRET, algorithms=["HS256"], options={"verify_aud": False}
    )
    assert unchecked_audience["header"]["typ"] != "at+jwt"


@pytest.mark.parametrize("typ", [None, "JWT", "jwt", "rt+jwt", "application/jwt"])
def test_access_token_without_the_access_typ_is_refused(codec: TokenCodec, typ: str | None) -> None:
    token = forge(claims_for(codec), typ=typ)
    assert reason_for(codec, token) in ("invalid_claims", "wrong_type")


@pytest.mark.parametrize("typ", [None, "JWT", "at+jwt"])
def test_refresh_token_without_the_refresh_typ_is_refused(
    codec: TokenCodec, typ: str | None
) -> None:
    token = forge(claims_for(codec, "refresh"), typ=typ)
    assert reason_for(codec, token, "refresh") in ("invalid_claims", "wrong_type")


@pytest.mark.parametrize(
    ("token_type", "audience"),
    [
        ("refresh", "auth-api"),
        ("refresh", ["auth-api/refresh"]),
        ("refresh", ["auth-api", "auth-api/refresh"]),
        ("access", "auth-api/refresh"),
    ],
)
def test_token_under_the_other_kinds_audience_is_refused(
    codec: TokenCodec, token_type: str, audience: object
) -> None:
    token = sign(claims_for(codec, token_type, aud=audience))
    assert reason_for(codec, token, token_type) in ("invalid_claims", "wrong_type")


def test_remembered_access_token_is_still_refused_as_a_refresh_token(codec: TokenCodec) -> None:
    now = int(time.time())
    pair = codec.issue_pair(USER, SESSION, now + 3600, now)
    codec.decode(pair.access_token, "access")
    codec.decode(pair.refresh_token, "refresh")
    assert reason_for(codec, pair.access_token, "refresh") == "wrong_type"
    assert reason_for(codec, pair.refresh_token, "access") == "wrong_type"


@pytest.mark.parametrize("claim", ["exp", "iat", "nbf"])
@pytest.mark.parametrize(
    "value",
    ["9999999999", "now", True, False, None, [1], {"n": 1}, float("nan"), float("inf")],
    ids=repr,
)
def test_time_claim_that_is_not_a_json_number_is_refused(
    codec: TokenCodec, claim: str, value: object
) -> None:
    now = int(time.time())
    numeric = {"exp": now + 60, "iat": now, "nbf": now}
    payload = {**claims_for(codec), **numeric, claim: value}
    if value == "now":
        payload[claim] = str(numeric[claim])  # digits PyJWT alone would take for a number
    reason_for(codec, sign(payload))


@pytest.mark.parametrize("value", [1.5, 10**30])
def test_time_claims_may_be_any_finite_json_number(codec: TokenCodec, value: float) -> None:
    now = int(time.time())
    token = sign(claims_for(codec, exp=now + 60 + value, iat=now - 1.5, nbf=now - 0.5))
    assert codec.decode(token, "access").sub == USER


def test_access_token_lives_for_the_configured_minutes(codec: TokenCodec) -> None:
    now = int(time.time())
    pair = codec.issue_pair(USER, SESSION, now + 86400, now)
    assert pair.expires_in == 15 * 60
    assert codec.decode(pair.access_token, "access").exp == now + 15 * 60


def test_refresh_token_ends_with_the_session(codec: TokenCodec) -> None:
    now = int(time.time())
    pair = codec.issue_pair(USER, SESSION, now + 500, now)
    assert pair.refresh_expires_in == 500
    assert pair.expires_in == 500  # an access token never outlives its session


def test_every_token_gets_a_fresh_jti(codec: TokenCodec) -> None:
    now = int(time.time())
    first = codec.issue_pair(USER, SESSION, now + 500, now)
    second = codec.issue_pair(USER, SESSION, now + 500, now)
    assert first.refresh_token != second.refresh_token


def test_refresh_token_is_refused_as_access_token(codec: TokenCodec) -> None:
    assert reason_for(codec, sign(claims_for(codec, "refresh")), "access") == "wrong_type"


def test_access_token_is_refused_as_refresh_token(codec: TokenCodec) -> None:
    assert reason_for(codec, sign(claims_for(codec, "access")), "refresh") == "wrong_type"


def test_unknown_token_type_is_refused(codec: TokenCodec) -> None:
    assert reason_for(codec, sign(claims_for(codec, "id"))) == "invalid_claims"


def test_expired_token_is_refused(codec: TokenCodec) -> None:
    past = int(time.time()) - 3600
    token = codec.encode(USER, SESSION, "access", past - 60, past)
    assert reason_for(codec, token) == "expired"


def test_token_expired_within_the_leeway_is_accepted(codec: TokenCodec) -> None:
    now = int(time.time())
    token = codec.encode(USER, SESSION, "access", now - 100, now - 10)
    assert codec.decode(token, "access").sub == USER


def test_token_issued_in_the_future_is_refused(codec: TokenCodec) -> None:
    future = int(time.time()) + 3600
    token = codec.encode(USER, SESSION, "access", future, future + 60)
    assert reason_for(codec, token) == "not_yet_valid"


def test_tampered_payload_is_refused(codec: TokenCodec) -> None:
    header, payload, signature = sign(claims_for(codec)).split(".")
    forged = sign(claims_for(codec, sub="someone-else")).split(".")[1]
    assert reason_for(codec, f"{header}.{forged}.{signature}") == "bad_signature"
    assert payload != forged


def test_token_signed_with_another_key_is_refused(codec: TokenCodec) -> None:
    token = sign(claims_for(codec), key="another-secret-key-that-is-32-bytes-long!")
    assert reason_for(codec, token) == "bad_signature"


def test_none_algorithm_is_refused(codec: TokenCodec) -> None:
    token = jwt.encode(claims_for(codec), None, algorithm="none", headers={"kid": hmac_kid(SECRET)})
    assert reason_for(codec, token) == "bad_signature"


@pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")
def test_other_hmac_algorithm_is_refused_because_the_algorithm_is_pinned(
    codec: TokenCodec,
) -> None:
    assert reason_for(codec, sign(claims_for(codec), algorithm="HS512")) == "bad_signature"


@pytest.mark.parametrize("claim", ["exp", "iat", "sub", "jti", "type", "sid", "iss", "aud"])
def test_token_without_a_required_claim_is_refused(codec: TokenCodec, claim: str) -> None:
    assert reason_for(codec, sign(claims_for(codec, **{claim: None}))) == "invalid_claims"


@pytest.mark.parametrize(("claim", "value"), [("iss", "evil"), ("aud", "other-service")])
def test_token_for_another_issuer_or_audience_is_refused(
    codec: TokenCodec, claim: str, value: str
) -> None:
    assert reason_for(codec, sign(claims_for(codec, **{claim: value}))) == "invalid_claims"


@pytest.mark.parametrize("claim", ["sub", "sid", "jti"])
def test_non_string_identifiers_are_refused(codec: TokenCodec, claim: str) -> None:
    assert reason_for(codec, sign(claims_for(codec, **{claim: 42}))) == "invalid_claims"


OUR_HEADER = (
    base64.urlsafe_b64encode(json.dumps({"alg": "HS256", "kid": hmac_kid(SECRET)}).encode())
    .rstrip(b"=")
    .decode()
)


@pytest.mark.parametrize("token", ["", "abc", "a.b.c", "🙂.🙂.🙂", "W10.e30.x", "bnVsbA.e30.x"])
def test_malformed_token_is_refused(codec: TokenCodec, token: str) -> None:
    assert reason_for(codec, token) == "malformed"


@pytest.mark.parametrize("token", [f"{OUR_HEADER}..", f"{OUR_HEADER}.e30."])
def test_token_without_a_signature_is_refused(codec: TokenCodec, token: str) -> None:
    assert reason_for(codec, token) == "bad_signature"


def test_oversized_token_is_refused_before_decoding(codec: TokenCodec) -> None:
    assert reason_for(codec, "a" * (MAX_TOKEN_LENGTH + 1)) == "malformed"


def test_fingerprint_is_a_hash_not_the_token() -> None:
    assert fingerprint("token") != "token"
    assert len(fingerprint("token")) == 64
    assert fingerprint("token") == fingerprint("token")


class SettableClock:
    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


def test_remembered_token_still_expires() -> None:
    clock = SettableClock()
    codec = TokenCodec(Settings(jwt_secret_key=SECRET, jwt_leeway_seconds=30), clock=clock)
    token = sign(claims_for(codec, exp=int(clock.now) + 60))
    assert codec.decode(token, "access").sub == USER
    clock.now += 60 + 29
    assert codec.decode(token, "access").sub == USER  # within the leeway
    clock.now += 2
    assert reason_for(codec, token) == "expired"


def test_remembered_token_is_still_refused_as_the_other_type(codec: TokenCodec) -> None:
    token = sign(claims_for(codec))
    codec.decode(token, "access")
    assert reason_for(codec, token, expected="refresh") == "wrong_type"


def test_remembering_a_token_does_not_admit_a_tampered_copy(codec: TokenCodec) -> None:
    token = sign(claims_for(codec))
    codec.decode(token, "access")
    header, payload, signature = token.split(".")
    forged = json.loads(base64.urlsafe_b64decode(payload + "=="))
    forged["sub"] = "someone-else"
    body = base64.urlsafe_b64encode(json.dumps(forged).encode()).rstrip(b"=").decode()
    assert reason_for(codec, f"{header}.{body}.{signature}") == "bad_signature"
    assert reason_for(codec, f"{header}.{payload}.{signature[:-2]}AA") == "bad_signature"


def test_refused_tokens_are_not_remembered(codec: TokenCodec) -> None:
    token = sign(claims_for(codec), key="another-secret-of-32-bytes-or-more!!")
    for _ in range(2):
        assert reason_for(codec, token) == "bad_signature"


def test_remembered_tokens_are_bounded() -> None:
    codec = TokenCodec(Settings(jwt_secret_key=SECRET), cache_size=2)
    tokens = [sign(claims_for(codec, jti=f"j{n}")) for n in range(3)]
    for token in tokens:
        codec.decode(token, "access")
    assert len(codec._verified._entries) == 2
    assert tokens[0] not in codec._verified._entries
