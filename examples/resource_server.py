"""A resource server that accepts auth-api's access tokens: a small notes service.

Every request is verified locally with the published keys (PyJWT's PyJWKClient): the
signature, `typ: at+jwt`, `iss`, `aud` and `exp`. That costs no call to auth-api, but a
logout reaches it only when the token expires. The route that moves money cannot wait for
that, so it also asks auth-api's introspection endpoint (RFC 7662) on every call.

Needs auth-api with an asymmetric key (JWT_ALGORITHM=EdDSA, ES256 or RS256) and this
service's credentials in its INTROSPECTION_CLIENTS. Run it with:

    AUTH_API_URL=http://127.0.0.1:8000 INTROSPECTION_CLIENT=notes:<secret> \\
        python examples/resource_server.py
"""

from __future__ import annotations

import base64
import json
import os
import urllib.parse
import urllib.request
from typing import Any

import jwt
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

# Never an HMAC algorithm: with a public key as the "secret", anyone could sign.
ALGORITHMS = ["EdDSA", "ES256", "RS256"]
# As long as auth-api's JWKS response says it may be cached (Cache-Control: max-age=300).
JWKS_CACHE_SECONDS = 300


class Unauthorized(Exception):
    """The request's access token is missing, invalid, expired or (when asked) revoked."""


class AccessTokens:
    """Verify auth-api's access tokens locally, and through introspection where it matters."""

    def __init__(
        self, auth_url: str, client_id: str, secret: str, issuer: str, audience: str
    ) -> None:
        self.auth_url = auth_url.rstrip("/")
        self.issuer = issuer
        self.audience = audience
        # Keys are fetched once and kept; a token with an unknown kid fetches them again.
        self.jwks = jwt.PyJWKClient(
            f"{self.auth_url}/.well-known/jwks.json", lifespan=JWKS_CACHE_SECONDS
        )
        credentials = f"{client_id}:{secret}".encode()
        self.basic = "Basic " + base64.b64encode(credentials).decode()

    def verify(self, token: str) -> dict[str, Any]:
        """Return the claims of a valid access token, checked here without asking auth-api."""
        try:
            key = self.jwks.get_signing_key_from_jwt(token)
            verified = jwt.decode_complete(
                token,
                key,
                algorithms=ALGORITHMS,
                issuer=self.issuer,
                audience=self.audience,
                options={"require": ["exp", "iat", "iss", "aud", "sub"]},
            )
        except jwt.PyJWTError as error:
            raise Unauthorized(type(error).__name__) from None
        # RFC 9068: an access token says so in its signed header; a refresh token never passes.
        if verified["header"].get("typ") != "at+jwt":
            raise Unauthorized("not an access token")
        claims: dict[str, Any] = verified["payload"]
        return claims

    def introspect(self, token: str) -> dict[str, Any]:
        """Return what auth-api says of a token that is active right now (RFC 7662)."""
        form = urllib.parse.urlencode({"token": token, "token_type_hint": "access_token"})
        request = urllib.request.Request(
            f"{self.auth_url}/api/v1/auth/introspect",
            data=form.encode(),
            headers={
                "Authorization": self.basic,
                "Content-Type": "application/x-www-form-urlencoded",
            },
        )
        with urllib.request.urlopen(request, timeout=5) as response:
            answer: dict[str, Any] = json.load(response)
        if not answer.get("active") or answer.get("token_type") != "access_token":
            raise Unauthorized("not active")
        return answer


def create_app(tokens: AccessTokens) -> Starlette:
    """Build the notes service around a token verifier."""

    def bearer(request: Request) -> str:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthorized("no bearer token")
        return token.strip()

    # Plain functions: Starlette runs them in a thread, where PyJWKClient's and urllib's
    # blocking calls are at home.
    def list_notes(request: Request) -> JSONResponse:
        claims = tokens.verify(bearer(request))
        return JSONResponse({"owner": claims["sub"], "notes": []})

    def pay(request: Request) -> JSONResponse:
        token = bearer(request)
        claims = tokens.verify(token)
        # Money moves: a token of a session that logged out a second ago must stop here.
        tokens.introspect(token)
        return JSONResponse({"owner": claims["sub"], "paid": True})

    def refuse(request: Request, error: Exception) -> JSONResponse:
        return JSONResponse(
            {"detail": "A valid access token is required."},
            status_code=401,
            headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
        )

    return Starlette(
        routes=[Route("/notes", list_notes), Route("/payments", pay, methods=["POST"])],
        exception_handlers={Unauthorized: refuse},
    )


def main() -> None:
    """Serve the notes service, configured from the environment."""
    client_id, _, secret = os.environ["INTROSPECTION_CLIENT"].partition(":")
    tokens = AccessTokens(
        os.environ.get("AUTH_API_URL", "http://127.0.0.1:8000"),
        client_id,
        secret,
        issuer=os.environ.get("JWT_ISSUER", "auth-api"),
        audience=os.environ.get("JWT_AUDIENCE", "auth-api"),
    )
    uvicorn.run(create_app(tokens), host="127.0.0.1", port=int(os.environ.get("PORT", "8001")))


if __name__ == "__main__":
    main()
