"""Issue and verify JWTs; the only module that imports `jwt`."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import math
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import jwt
from jwt.algorithms import get_default_algorithms
from jwt.exceptions import InvalidJTIError, InvalidSubjectError

from authapi.errors import InvalidToken
from authapi.keys import KeyRing, VerificationKey, load_keyring
from authapi.records import PASSWORD_ONLY, Acr, Assurance
from authapi.settings import Settings

TokenType = Literal["access", "refresh"]
# Explicit typing (RFC 8725 §3.11): the JOSE header says what a token is, so a verifier that
# checks it can never take one kind for the other. Access tokens follow RFC 9068.
TOKEN_TYP: dict[TokenType, str] = {"access": "at+jwt", "refresh": "rt+jwt"}
# A refresh token is meant for this service's refresh endpoint only; under its own audience
# it fails the standard check (`aud` == JWT_AUDIENCE) of every service that takes access tokens.
REFRESH_AUDIENCE_SUFFIX = "/refresh"
# RFC 7519 NumericDate: a JSON number. PyJWT would also take a string of digits.
TIME_CLAIMS = ("exp", "iat", "nbf")
# A real token is a few hundred bytes; anything far larger is refused before decoding.
MAX_TOKEN_LENGTH = 4096
REQUIRED_CLAIMS = ["exp", "iat", "sub", "jti", "type", "sid", "iss", "aud"]
# Verified tokens remembered, so that a client's next request with the same token skips
# the signature check and parsing; about 1 KiB each.
VERIFIED_CACHE_SIZE = 10_000


@dataclass(frozen=True)
class Claims:
    """The verified claims of a token."""

    sub: str
    sid: str
    jti: str
    type: TokenType
    iat: int
    exp: int
    # Access tokens only (a refresh copies them from the session): RFC 9470's claims.
    acr: Acr = "aal1"
    amr: tuple[str, ...] = PASSWORD_ONLY
    auth_time: int = 0


@dataclass(frozen=True)
class TokenPair:
    """What a login or a refresh hands out."""

    access_token: str
    refresh_token: str
    expires_in: int
    refresh_expires_in: int
    # The session both tokens belong to (a browser login derives its CSRF token from it).
    session_id: str = ""


def fingerprint(token: str) -> str:
    """Return the hash under which a refresh token is stored; the token itself never is."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class TokenCodec:
    """Sign access and refresh tokens with the signing key; verify with any key of the ring."""

    def __init__(
        self,
        settings: Settings,
        keyring: KeyRing | None = None,
        *,
        clock: Callable[[], float] = time.time,
        cache_size: int | None = None,
    ) -> None:
        self.keyring = keyring or load_keyring(settings)
        self._clock = clock
        self._verified = _VerifiedTokens(VERIFIED_CACHE_SIZE if cache_size is None else cache_size)
        # Prepared once: PyJWT would otherwise re-parse the key on every decode.
        self._prepared = {kid: _prepared(key) for kid, key in self.keyring.verifiers.items()}
        self._issuer = settings.jwt_issuer
        self._audiences: dict[TokenType, str] = {
            "access": settings.jwt_audience,
            "refresh": refresh_audience(settings.jwt_audience),
        }
        self._leeway = settings.jwt_leeway_seconds
        self._access_ttl = settings.access_ttl_seconds
        self._signer = _Signer(self.keyring)

    def issue_pair(
        self,
        user_id: str,
        session_id: str,
        session_expires_at: int,
        now: int,
        assurance: Assurance | None = None,
    ) -> TokenPair:
        """Issue an access token with `assurance` and a refresh token that ends with the session."""
        access_exp = min(now + self._access_ttl, session_expires_at)
        return TokenPair(
            access_token=self.encode(
                user_id, session_id, "access", now, access_exp, assurance or _password_at(now)
            ),
            refresh_token=self.encode(user_id, session_id, "refresh", now, session_expires_at),
            expires_in=access_exp - now,
            refresh_expires_in=session_expires_at - now,
            session_id=session_id,
        )

    @property
    def issuer(self) -> str:
        """Return the `iss` of every token this codec signs."""
        return self._issuer

    def audience(self, token_type: TokenType) -> str:
        """Return the `aud` of tokens of this type."""
        return self._audiences[token_type]

    def csrf_token(self, session_id: str) -> str:
        """Return the CSRF token of a browser session: bound to it, unforgeable without the key."""
        return _csrf_mac(self.keyring.csrf_keys[0], session_id)

    def csrf_matches(self, session_id: str, presented: str) -> bool:
        """Tell whether `presented` is this session's CSRF token, under any key of the ring."""
        # Bytes, not str: compare_digest refuses non-ASCII text with a TypeError.
        offered = presented.encode("utf-8", "replace")
        return any(
            hmac.compare_digest(_csrf_mac(key, session_id).encode(), offered)
            for key in self.keyring.csrf_keys
        )

    def encode(
        self,
        user_id: str,
        session_id: str,
        token_type: TokenType,
        iat: int,
        exp: int,
        assurance: Assurance | None = None,
    ) -> str:
        """Sign one token; tests use it to mint tokens at a chosen time."""
        payload: dict[str, Any] = {
            "iss": self._issuer,
            "aud": self._audiences[token_type],
            "sub": user_id,
            "sid": session_id,
            "jti": uuid.uuid4().hex,
            "type": token_type,
            "iat": iat,
            "exp": exp,
        }
        if assurance is not None:
            payload["acr"] = assurance.acr
            payload["amr"] = list(assurance.amr)
            payload["auth_time"] = assurance.auth_time
        return self._signer.sign(payload, token_type)

    def decode(self, token: str, expected_type: TokenType) -> Claims:
        """Verify a token of the expected type, or raise `InvalidToken` with a reason category."""
        remembered = self._verified.get(token)
        if remembered is not None:
            # Same bytes, so same signature, header, issuer, audience and claims: only time
            # moved on. A token is remembered only once its typ, aud and type all agreed.
            claims, not_before = remembered
            now = self._clock()
            if claims.exp <= now - self._leeway:
                self._verified.forget(token)
                raise InvalidToken("expired")
            if not_before > now + self._leeway:
                raise InvalidToken("not_yet_valid")
            if claims.type != expected_type:
                raise InvalidToken("wrong_type")
            return claims
        claims, not_before = self._verify(token, expected_type)
        self._verified.remember(token, claims, not_before)
        return claims

    def _verify(self, token: str, expected_type: TokenType) -> tuple[Claims, float]:
        if len(token) > MAX_TOKEN_LENGTH:
            raise InvalidToken("malformed")
        header = _unverified_header(token)
        kid, key = self._verification_key(header)
        try:
            decoded: dict[str, Any] = jwt.decode_complete(
                token,
                self._prepared[kid],
                # Pinned per key: a token can never choose its own algorithm.
                algorithms=[key.algorithm],
                audience=self._audiences[expected_type],
                issuer=self._issuer,
                leeway=self._leeway,
                options={"require": REQUIRED_CLAIMS, "strict_aud": True},
            )
        except jwt.ExpiredSignatureError:
            raise InvalidToken("expired") from None
        except (jwt.InvalidSignatureError, jwt.InvalidAlgorithmError):
            raise InvalidToken("bad_signature") from None
        except jwt.ImmatureSignatureError:
            raise InvalidToken("not_yet_valid") from None
        except jwt.InvalidAudienceError:
            # Only the log's reason reads the unverified header: the token is refused anyway.
            raise InvalidToken(_mismatch(header.get("typ"), expected_type)) from None
        except (
            jwt.MissingRequiredClaimError,
            jwt.InvalidIssuerError,
            jwt.InvalidIssuedAtError,
            InvalidSubjectError,
            InvalidJTIError,
        ):
            raise InvalidToken("invalid_claims") from None
        except (jwt.PyJWTError, ValueError, TypeError, ArithmeticError):
            raise InvalidToken("malformed") from None
        # The header is covered by the signature, so its typ is now as trustworthy as the claims.
        typ = decoded["header"].get("typ")
        if typ != TOKEN_TYP[expected_type]:
            raise InvalidToken(_mismatch(typ, expected_type))
        payload: dict[str, Any] = decoded["payload"]
        if not all(_is_numeric_date(payload[name]) for name in TIME_CLAIMS if name in payload):
            raise InvalidToken("invalid_claims")
        claims = _claims(payload, expected_type)
        # PyJWT refuses an iat or nbf in the future; a remembered token is held to the later.
        return claims, max(payload["iat"], payload.get("nbf", payload["iat"]))

    def _verification_key(self, header: dict[str, Any]) -> tuple[str, VerificationKey]:
        kid = header.get("kid")
        # The kid is only ever a dictionary key: never a path, a URL or a query.
        key = self.keyring.verifiers.get(kid) if isinstance(kid, str) else None
        if key is None:
            raise InvalidToken("unknown_key")
        return key.kid, key


class _Signer:
    """Sign tokens as `jwt.encode` does, byte for byte, with the key and headers made once.

    PyJWT prepares the key (re-checking that an HMAC secret is no PEM or SSH key, or loading
    a private key) and serialises the same header again for every token it signs; a login
    signs two. Here both happen once per key ring, and each token costs its payload's JSON,
    base64 and the signature alone. tests/test_keys.py holds it to `jwt.encode`.
    """

    def __init__(self, ring: KeyRing) -> None:
        self._algorithm = get_default_algorithms()[ring.signing_algorithm]
        self._key = self._algorithm.prepare_key(ring.signing_key)
        self._headers = {
            token_type: _b64(
                _compact(
                    {"alg": ring.signing_algorithm, "kid": ring.signing_kid, "typ": typ},
                    sort_keys=True,
                )
            )
            for token_type, typ in TOKEN_TYP.items()
        }

    def sign(self, payload: dict[str, Any], token_type: TokenType) -> str:
        signing_input = self._headers[token_type] + b"." + _b64(_compact(payload))
        signature = self._algorithm.sign(signing_input, self._key)
        return (signing_input + b"." + _b64(signature)).decode("ascii")


def _compact(value: dict[str, Any], sort_keys: bool = False) -> bytes:
    # PyJWT's own serialisation: no spaces, and the header's keys sorted.
    return json.dumps(value, separators=(",", ":"), sort_keys=sort_keys).encode("utf-8")


def _b64(data: bytes) -> bytes:
    return base64.urlsafe_b64encode(data).rstrip(b"=")


class _VerifiedTokens:
    """Tokens that passed every check, by their exact text, oldest forgotten first."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._entries: dict[str, tuple[Claims, float]] = {}

    def get(self, token: str) -> tuple[Claims, float] | None:
        return self._entries.get(token)

    def remember(self, token: str, claims: Claims, not_before: float) -> None:
        if self._size <= 0:
            return
        if len(self._entries) >= self._size:
            del self._entries[next(iter(self._entries))]
        self._entries[token] = (claims, not_before)

    def forget(self, token: str) -> None:
        self._entries.pop(token, None)


def _prepared(key: VerificationKey) -> jwt.PyJWK:
    if key.jwk is not None:
        return jwt.PyJWK(key.jwk, algorithm=key.algorithm)
    secret = base64.urlsafe_b64encode(key.key.encode()).rstrip(b"=").decode()
    return jwt.PyJWK({"kty": "oct", "k": secret}, algorithm=key.algorithm)


def _csrf_mac(key: bytes, session_id: str) -> str:
    mac = hmac.new(key, b"csrf:" + session_id.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).rstrip(b"=").decode()


def _password_at(now: int) -> Assurance:
    return Assurance("aal1", PASSWORD_ONLY, now)


def refresh_audience(audience: str) -> str:
    """Return the `aud` of refresh tokens: never the access tokens' audience itself."""
    return audience + REFRESH_AUDIENCE_SUFFIX


def _unverified_header(token: str) -> dict[str, Any]:
    # Read to pick a key by its kid; PyJWT then verifies the whole token, header included.
    # Parsing the header here once is cheaper than asking PyJWT to parse the token twice.
    segment = token.partition(".")[0]
    try:
        header = json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))
    except (ValueError, binascii.Error, RecursionError):
        raise InvalidToken("malformed") from None
    if not isinstance(header, dict):
        raise InvalidToken("malformed")
    return header


def _mismatch(typ: object, expected_type: TokenType) -> str:
    # A token of ours of the other kind is a client's mix-up worth naming in the log.
    other: TokenType = "refresh" if expected_type == "access" else "access"
    return "wrong_type" if typ == TOKEN_TYP[other] else "invalid_claims"


def _is_numeric_date(value: object) -> bool:
    # bool is an int in Python but not a number in JSON; NaN and infinities are no dates.
    if isinstance(value, bool):
        return False
    return isinstance(value, int) or (isinstance(value, float) and math.isfinite(value))


def _claims(payload: dict[str, Any], expected_type: TokenType) -> Claims:
    token_type = payload["type"]
    if token_type not in ("access", "refresh"):
        raise InvalidToken("invalid_claims")
    if token_type != expected_type:
        raise InvalidToken("wrong_type")
    sub, sid, jti = payload["sub"], payload["sid"], payload["jti"]
    if not all(isinstance(value, str) and value for value in (sub, sid, jti)):
        raise InvalidToken("invalid_claims")
    iat = int(payload["iat"])
    acr, amr, auth_time = _assurance(payload, iat)
    return Claims(
        sub=sub,
        sid=sid,
        jti=jti,
        type=token_type,
        iat=iat,
        exp=int(payload["exp"]),
        acr=acr,
        amr=amr,
        auth_time=auth_time,
    )


def _assurance(payload: dict[str, Any], iat: int) -> tuple[Acr, tuple[str, ...], int]:
    # A token signed before assurance claims existed counts as a password alone, then.
    acr = payload.get("acr", "aal1")
    amr = payload.get("amr", list(PASSWORD_ONLY))
    auth_time = payload.get("auth_time", iat)
    if acr not in ("aal1", "aal2") or not _is_numeric_date(auth_time):
        raise InvalidToken("invalid_claims")
    if not isinstance(amr, list) or not all(isinstance(method, str) for method in amr):
        raise InvalidToken("invalid_claims")
    return acr, tuple(amr), int(auth_time)
