"""Signing and verification keys: one key signs, every configured key verifies.

Key ids (`kid`) are derived from the keys themselves (RFC 7638 thumbprints for public
keys), so rotating a key never needs a hand-kept name, and a `kid` from a token is only
ever looked up in a dictionary, never used to build a path or a query.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from dataclasses import dataclass, field
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from authapi.errors import ConfigError
from authapi.settings import Settings

MIN_RSA_BITS = 2048
PublicKey = ed25519.Ed25519PublicKey | ec.EllipticCurvePublicKey | rsa.RSAPublicKey
PrivateKey = ed25519.Ed25519PrivateKey | ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey
CSRF_PURPOSE = "browser-csrf"
DEVICE_PURPOSE = "device-token"


@dataclass(frozen=True)
class VerificationKey:
    """A key that verifies tokens of one algorithm."""

    kid: str
    algorithm: str
    key: Any = field(repr=False)
    jwk: dict[str, str] | None = None


@dataclass(frozen=True)
class KeyRing:
    """The signing key and every key that still verifies, by kid."""

    signing_kid: str
    signing_algorithm: str
    signing_key: Any = field(repr=False)
    verifiers: dict[str, VerificationKey] = field(default_factory=dict, repr=False)
    # Keys for the CSRF tokens of browser sessions, derived from the signing key (first,
    # it derives new tokens) and from retired HMAC secrets, so a rotation keeps sessions.
    csrf_keys: tuple[bytes, ...] = field(default=(), repr=False)
    # Keys for device tokens (authapi/devices.py), derived the same way for a purpose of
    # their own: the first signs, every one recognizes.
    device_keys: tuple[bytes, ...] = field(default=(), repr=False)

    def jwks(self) -> dict[str, list[dict[str, str]]]:
        """Return the public keys as a JWK Set; shared secrets never appear."""
        return {"keys": [key.jwk for key in self.verifiers.values() if key.jwk is not None]}


def load_keyring(settings: Settings) -> KeyRing:
    """Build the key ring from settings, or raise `ConfigError` naming the variable."""
    if settings.uses_hmac:
        secrets = (settings.jwt_secret_key, *settings.jwt_previous_secret_keys)
        verifiers = {
            hmac_kid(secret): VerificationKey(hmac_kid(secret), settings.jwt_algorithm, secret)
            for secret in secrets
        }
        signing_kid = hmac_kid(settings.jwt_secret_key)
        csrf_keys = tuple(derive_key(secret.encode(), CSRF_PURPOSE) for secret in secrets)
        device_keys = tuple(derive_key(secret.encode(), DEVICE_PURPOSE) for secret in secrets)
        return KeyRing(
            signing_kid,
            settings.jwt_algorithm,
            settings.jwt_secret_key,
            verifiers,
            csrf_keys,
            device_keys,
        )
    pem = settings.jwt_private_key
    if settings.generates_private_key:
        pem = generate_private_key_pem(settings.jwt_algorithm)
    private = _load_private(pem, "JWT_PRIVATE_KEY")
    signing = _verification_key(private.public_key(), "JWT_PRIVATE_KEY")
    if signing.algorithm != settings.jwt_algorithm:
        raise ConfigError(
            f"JWT_PRIVATE_KEY is a {signing.algorithm} key but JWT_ALGORITHM is "
            f"{settings.jwt_algorithm}."
        )
    verifiers = {signing.kid: signing}
    for pem in settings.jwt_verification_keys:
        key = _verification_key(_load_public(pem), "JWT_VERIFICATION_KEY_FILES")
        verifiers[key.kid] = key
    material = private.private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    csrf_keys = (derive_key(material, CSRF_PURPOSE),)
    # Only the private key has secret material: a retired key pair is kept as its public half,
    # so replacing the private key forgets every device (their owners log in as strangers once).
    device_keys = (derive_key(material, DEVICE_PURPOSE),)
    return KeyRing(signing.kid, signing.algorithm, private, verifiers, csrf_keys, device_keys)


def derive_key(material: bytes, purpose: str) -> bytes:
    """Derive a 32-byte key for one purpose from key material; it reveals nothing of it."""
    # HMAC as a pseudo-random function (the extract-and-expand of HKDF in one step, which
    # suffices for one output block): the CSRF key never equals, nor leads to, the JWT key.
    return hmac.new(material, b"authapi-derived-key:" + purpose.encode(), hashlib.sha256).digest()


def hmac_kid(secret: str) -> str:
    """Name a shared secret by a short hash of it; the hash reveals nothing usable."""
    return "hs-" + hashlib.sha256(b"authapi-kid:" + secret.encode()).hexdigest()[:16]


def generate_private_key_pem(algorithm: str) -> str:
    """Generate a private key in PEM for `algorithm` (development and tests)."""
    key: PrivateKey
    if algorithm == "EdDSA":
        key = ed25519.Ed25519PrivateKey.generate()
    elif algorithm == "ES256":
        key = ec.generate_private_key(ec.SECP256R1())
    else:
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


def public_key_pem(private_pem: str) -> str:
    """Return the public half of a PEM private key, in PEM."""
    public = _load_private(private_pem, "key").public_key()
    return public.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()


def _load_private(pem: str, variable: str) -> PrivateKey:
    try:
        key = serialization.load_pem_private_key(pem.encode(), password=None)
    except (ValueError, TypeError):
        raise ConfigError(f"{variable} is not an unencrypted PEM private key.") from None
    if not isinstance(
        key, ed25519.Ed25519PrivateKey | ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey
    ):
        raise ConfigError(f"{variable} must be an Ed25519, P-256 or RSA key.")
    return key


def _load_public(pem: str) -> PublicKey:
    # A verification key may be given as a public key or as a (retired) private key.
    try:
        key: Any = serialization.load_pem_public_key(pem.encode())
    except ValueError:
        key = _load_private(pem, "JWT_VERIFICATION_KEY_FILES").public_key()
    if not isinstance(key, ed25519.Ed25519PublicKey | ec.EllipticCurvePublicKey | rsa.RSAPublicKey):
        raise ConfigError("JWT_VERIFICATION_KEY_FILES must hold Ed25519, P-256 or RSA keys.")
    return key


def _verification_key(public: PublicKey, variable: str) -> VerificationKey:
    if isinstance(public, rsa.RSAPublicKey) and public.key_size < MIN_RSA_BITS:
        # NIST SP 800-131A: RSA under 2048 bits is disallowed for signatures.
        raise ConfigError(f"{variable} must be an RSA key of at least {MIN_RSA_BITS} bits.")
    jwk = _jwk(public, variable)
    kid = _thumbprint(jwk)
    algorithm = {"OKP": "EdDSA", "EC": "ES256", "RSA": "RS256"}[jwk["kty"]]
    return VerificationKey(
        kid, algorithm, public, {**jwk, "kid": kid, "alg": algorithm, "use": "sig"}
    )


def _jwk(public: PublicKey, variable: str) -> dict[str, str]:
    if isinstance(public, ed25519.Ed25519PublicKey):
        raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        return {"kty": "OKP", "crv": "Ed25519", "x": _b64(raw)}
    if isinstance(public, ec.EllipticCurvePublicKey):
        if not isinstance(public.curve, ec.SECP256R1):
            raise ConfigError(f"{variable}: only the P-256 curve is supported for EC keys.")
        numbers = public.public_numbers()
        return {
            "kty": "EC",
            "crv": "P-256",
            "x": _b64(numbers.x.to_bytes(32, "big")),
            "y": _b64(numbers.y.to_bytes(32, "big")),
        }
    numbers_rsa = public.public_numbers()
    return {
        "kty": "RSA",
        "n": _b64(numbers_rsa.n.to_bytes((numbers_rsa.n.bit_length() + 7) // 8, "big")),
        "e": _b64(numbers_rsa.e.to_bytes((numbers_rsa.e.bit_length() + 7) // 8, "big")),
    }


def _thumbprint(jwk: dict[str, str]) -> str:
    # RFC 7638: the required members only, sorted, without whitespace.
    required = {
        "OKP": ("crv", "kty", "x"),
        "EC": ("crv", "kty", "x", "y"),
        "RSA": ("e", "kty", "n"),
    }
    canonical = json.dumps(
        {k: jwk[k] for k in required[jwk["kty"]]}, separators=(",", ":"), sort_keys=True
    )
    return _b64(hashlib.sha256(canonical.encode()).digest())


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()
