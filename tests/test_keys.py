"""Keys: asymmetric signing, the JWK Set, and rotation without logging anyone out."""

from __future__ import annotations

import ast
import base64
import hashlib
import hmac
import json
import time
from pathlib import Path

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from authapi import settings as settings_module
from authapi.errors import ConfigError, InvalidToken
from authapi.keys import generate_private_key_pem, hmac_kid, load_keyring, public_key_pem
from authapi.settings import Settings
from authapi.tokens import TokenCodec
from tests.config import PRODUCTION_WEBAUTHN, SECRET


def now() -> int:
    """Read the clock per test: a token minted at import would expire in a long run."""
    return int(time.time())


def codec_for(algorithm: str, private_pem: str, *verification: str) -> TokenCodec:
    return TokenCodec(
        Settings(
            jwt_algorithm=algorithm,
            jwt_private_key=private_pem,
            jwt_verification_keys=verification,
        )
    )


@pytest.mark.parametrize("algorithm", ["EdDSA", "ES256", "RS256"])
def test_asymmetric_tokens_carry_a_kid_and_verify(algorithm: str) -> None:
    codec = codec_for(algorithm, generate_private_key_pem(algorithm))
    token = codec.issue_pair("u", "s", now() + 3600, now()).access_token
    header = jwt.get_unverified_header(token)
    assert header["alg"] == algorithm
    assert header["kid"] == codec.keyring.signing_kid
    assert codec.decode(token, "access").sub == "u"


def test_hmac_tokens_carry_a_kid_that_is_not_the_secret() -> None:
    codec = TokenCodec(Settings(jwt_secret_key=SECRET))
    token = codec.issue_pair("u", "s", now() + 3600, now()).access_token
    kid = jwt.get_unverified_header(token)["kid"]
    assert kid == hmac_kid(SECRET)
    assert SECRET not in kid


@pytest.mark.parametrize("algorithm", ["EdDSA", "ES256", "RS256"])
def test_jwks_publishes_the_public_key_and_verifies_tokens(algorithm: str) -> None:
    codec = codec_for(algorithm, generate_private_key_pem(algorithm))
    token = codec.issue_pair("u", "s", now() + 3600, now()).access_token
    jwks = codec.keyring.jwks()
    (jwk,) = jwks["keys"]
    assert jwk["kid"] == codec.keyring.signing_kid
    assert "d" not in jwk  # never the private part
    # What another service does: pick the key by kid, verify with PyJWT alone.
    key = jwt.PyJWKSet.from_dict(jwks)[jwt.get_unverified_header(token)["kid"]]
    claims = jwt.decode(token, key, algorithms=[algorithm], audience="auth-api")
    assert claims["type"] == "access"
    assert jwt.get_unverified_header(token)["typ"] == "at+jwt"


@pytest.mark.parametrize("algorithm", ["EdDSA", "ES256", "RS256"])
def test_refresh_token_fails_the_jwks_verification_of_an_access_token(algorithm: str) -> None:
    codec = codec_for(algorithm, generate_private_key_pem(algorithm))
    token = codec.issue_pair("u", "s", now() + 3600, now()).refresh_token
    key = jwt.PyJWKSet.from_dict(codec.keyring.jwks())[jwt.get_unverified_header(token)["kid"]]
    with pytest.raises(jwt.InvalidAudienceError):
        jwt.decode(token, key, algorithms=[algorithm], audience="auth-api", issuer="auth-api")


def test_jwks_is_empty_for_shared_secrets() -> None:
    assert TokenCodec(Settings(jwt_secret_key=SECRET)).keyring.jwks() == {"keys": []}


def test_token_signed_by_a_retired_key_stays_valid_until_it_expires() -> None:
    retired_pem = generate_private_key_pem("EdDSA")
    old = codec_for("EdDSA", retired_pem)
    token = old.issue_pair("u", "s", now() + 3600, now()).access_token
    rotated = codec_for("EdDSA", generate_private_key_pem("EdDSA"), public_key_pem(retired_pem))
    assert rotated.decode(token, "access").sub == "u"
    new_token = rotated.issue_pair("u", "s", now() + 3600, now()).access_token
    assert jwt.get_unverified_header(new_token)["kid"] != jwt.get_unverified_header(token)["kid"]
    assert len(rotated.keyring.jwks()["keys"]) == 2


def test_token_of_a_key_that_is_no_longer_configured_is_refused() -> None:
    token = codec_for("EdDSA", generate_private_key_pem("EdDSA")).issue_pair(
        "u", "s", now() + 3600, now()
    )
    stranger = codec_for("EdDSA", generate_private_key_pem("EdDSA"))
    with pytest.raises(InvalidToken) as refused:
        stranger.decode(token.access_token, "access")
    assert refused.value.reason == "unknown_key"


def test_previous_hmac_secret_still_verifies_but_never_signs() -> None:
    old_secret = "an-older-secret-that-is-at-least-32-bytes"
    token = TokenCodec(Settings(jwt_secret_key=old_secret)).issue_pair(
        "u", "s", now() + 3600, now()
    )
    rotated = TokenCodec(Settings(jwt_secret_key=SECRET, jwt_previous_secret_keys=(old_secret,)))
    assert rotated.decode(token.access_token, "access").sub == "u"
    fresh = rotated.issue_pair("u", "s", now() + 3600, now()).access_token
    assert jwt.get_unverified_header(fresh)["kid"] == hmac_kid(SECRET)


def hand_signed(header: dict[str, object], claims: dict[str, object]) -> str:
    """Sign with HS256 by hand, so the header can hold what PyJWT refuses to write."""

    def part(value: dict[str, object]) -> bytes:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=")

    signing_input = part(header) + b"." + part(claims)
    signature = hmac.new(SECRET.encode(), signing_input, hashlib.sha256).digest()
    return (signing_input + b"." + base64.urlsafe_b64encode(signature).rstrip(b"=")).decode()


@pytest.mark.parametrize(
    "kid", ["../../etc/passwd", "' OR 1=1 --", "http://evil.example/key", "", 42, None, ["x"]]
)
def test_unknown_or_hostile_kid_is_refused(kid: object) -> None:
    codec = TokenCodec(Settings(jwt_secret_key=SECRET))
    claims: dict[str, object] = {"iss": "auth-api", "aud": "auth-api", "sub": "u", "sid": "s"}
    claims |= {"jti": "j", "type": "access", "iat": now(), "exp": now() + 3600}
    token = hand_signed({"alg": "HS256", "typ": "at+jwt", "kid": kid}, claims)
    with pytest.raises(InvalidToken) as refused:
        codec.decode(token, "access")
    # PyJWT itself rejects a kid that is not a string; either way nothing is looked up.
    assert refused.value.reason in ("unknown_key", "malformed")


def test_private_key_of_another_algorithm_is_refused() -> None:
    with pytest.raises(ConfigError, match="JWT_PRIVATE_KEY"):
        codec_for("EdDSA", generate_private_key_pem("ES256"))


def test_garbage_private_key_is_refused_without_echoing_it() -> None:
    with pytest.raises(ConfigError, match="JWT_PRIVATE_KEY") as refused:
        load_keyring(Settings(jwt_algorithm="EdDSA", jwt_private_key="not a pem"))
    assert "not a pem" not in str(refused.value)


def test_development_without_a_private_key_generates_one() -> None:
    settings = Settings.from_env({"JWT_ALGORITHM": "EdDSA"}, env_file=None)
    assert settings.secret_is_ephemeral
    codec = TokenCodec(settings)
    token = codec.issue_pair("u", "s", now() + 3600, now()).access_token
    assert jwt.get_unverified_header(token)["alg"] == "EdDSA"
    assert codec.decode(token, "access").sub == "u"
    assert len(codec.keyring.jwks()["keys"]) == 1


def test_a_generated_private_key_lives_only_as_long_as_its_key_ring() -> None:
    settings = Settings.from_env({"JWT_ALGORITHM": "ES256"}, env_file=None)
    assert load_keyring(settings).signing_kid != load_keyring(settings).signing_kid


def test_a_private_key_is_never_generated_in_production() -> None:
    with pytest.raises(ConfigError, match="JWT_PRIVATE_KEY"):
        Settings(app_env="production", jwt_algorithm="EdDSA", secret_is_ephemeral=True)


def test_settings_never_import_the_key_ring() -> None:
    # keys.py reads Settings; settings.py reading keys.py back, even inside a function,
    # made an import cycle.
    tree = ast.parse(Path(settings_module.__file__).read_text())
    imported = {
        node.module if isinstance(node, ast.ImportFrom) else alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.Import | ast.ImportFrom)
        for alias in node.names
    }
    assert "authapi.keys" not in imported


def test_production_needs_a_private_key_for_asymmetric_algorithms() -> None:
    with pytest.raises(ConfigError, match="JWT_PRIVATE_KEY"):
        Settings.from_env({"APP_ENV": "production", "JWT_ALGORITHM": "EdDSA"}, env_file=None)


def rsa_pem(bits: int) -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=bits)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


@pytest.mark.parametrize("app_env", ["development", "production"])
def test_rsa_signing_key_under_2048_bits_is_refused_naming_the_variable(app_env: str) -> None:
    settings = Settings(
        app_env=app_env,
        jwt_algorithm="RS256",
        jwt_private_key=rsa_pem(1024),
        metrics_token="t" * 32,
        mfa_encryption_key="a2V5LWtleS1rZXkta2V5LWtleS1rZXkta2V5LWtleS0=",
        **PRODUCTION_WEBAUTHN,
    )
    with pytest.raises(ConfigError, match=r"JWT_PRIVATE_KEY.*2048"):
        load_keyring(settings)


@pytest.mark.parametrize(
    "retired", [rsa_pem(1024), public_key_pem(rsa_pem(1024))], ids=["private-key", "public-key"]
)
def test_rsa_verification_key_under_2048_bits_is_refused_naming_the_variable(retired: str) -> None:
    with pytest.raises(ConfigError, match=r"JWT_VERIFICATION_KEY_FILES.*2048"):
        codec_for("RS256", rsa_pem(2048), retired)


def test_rsa_key_of_2048_bits_is_accepted() -> None:
    codec = codec_for("RS256", rsa_pem(2048), public_key_pem(rsa_pem(2048)))
    assert len(codec.keyring.jwks()["keys"]) == 2


@pytest.mark.parametrize("algorithm", ["HS256", "EdDSA", "ES256", "RS256"])
@pytest.mark.parametrize("token_type", ["access", "refresh"])
def test_tokens_are_signed_exactly_as_pyjwt_would_sign_them(
    algorithm: str, token_type: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The codec signs with its key prepared once; the result must be PyJWT's, byte for byte.
    codec = (
        TokenCodec(Settings(jwt_secret_key=SECRET))
        if algorithm == "HS256"
        else codec_for(algorithm, generate_private_key_pem(algorithm))
    )
    signer, signed = codec._signer, []
    sign = signer.sign

    def recording(payload: dict[str, object], kind: str) -> str:
        signed.append(payload)
        return sign(payload, kind)  # type: ignore[arg-type]

    monkeypatch.setattr(signer, "sign", recording)
    issued = now()
    token = codec.encode("u", "s", token_type, issued, issued + 60)  # type: ignore[arg-type]
    ring = codec.keyring
    expected = jwt.encode(
        signed[0],
        ring.signing_key,
        algorithm=algorithm,
        headers={"kid": ring.signing_kid, "typ": "at+jwt" if token_type == "access" else "rt+jwt"},
    )
    if algorithm == "ES256":
        # ECDSA signatures are randomised: the signed part must match, and the signature verify.
        assert token.rsplit(".", 1)[0] == expected.rsplit(".", 1)[0]
        assert codec.decode(token, token_type).sub == "u"  # type: ignore[arg-type]
    else:
        assert token == expected
