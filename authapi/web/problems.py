"""Map every error to an RFC 9457 `application/problem+json` response."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping
from typing import Any

from connexion import AsyncApp
from connexion.exceptions import ProblemException
from connexion.http_facts import HTTP_STATUS_CODES
from connexion.lifecycle import ConnexionRequest, ConnexionResponse
from connexion.problem import problem
from starlette.exceptions import HTTPException

from authapi.errors import BASIC_CHALLENGE, AuthError, Unauthenticated

logger = logging.getLogger(__name__)


HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
# RFC 6749 §5.2 error codes, by status, for the operations the spec marks `x-oauth-errors`:
# their problems also carry `error`, so that OAuth clients understand them too.
OAUTH_ERRORS = {
    400: "invalid_request",
    401: "invalid_client",
    413: "invalid_request",
    415: "invalid_request",
    429: "temporarily_unavailable",
    503: "temporarily_unavailable",
}


class OAuthPaths:
    """The paths whose operations answer errors the OAuth way as well (`x-oauth-errors`)."""

    def __init__(self, spec_paths: Mapping[str, Mapping[str, Any]]) -> None:
        self._paths = frozenset(
            path
            for path, item in spec_paths.items()
            for method, operation in item.items()
            if method in HTTP_METHODS and operation.get("x-oauth-errors")
        )

    def error_member(self, path: str, status: int) -> dict[str, str] | None:
        """Return the `error` member for a problem at this path, if it takes one."""
        code = OAUTH_ERRORS.get(status) if path in self._paths else None
        return None if code is None else {"error": code}

    def challenge(self, path: str) -> str | None:
        """Return the HTTP Basic challenge of an OAuth path's 401, None elsewhere."""
        return BASIC_CHALLENGE if path in self._paths else None


class AllowedMethods:
    """The methods the spec declares for each path, for the `Allow` header of a 405.

    Connexion routes each operation separately, so Starlette's 405 names only the methods
    of the first route it tried; RFC 9110 §15.5.6 wants every method the resource supports.
    """

    def __init__(self, spec_paths: Mapping[str, Mapping[str, Any]]) -> None:
        self._paths = [
            (_template_pattern(path), _allow_value(m for m in item if m in HTTP_METHODS))
            for path, item in spec_paths.items()
        ]

    def for_path(self, path: str) -> str | None:
        """Return the `Allow` value for a request path, or None when no spec path matches."""
        for pattern, allow in self._paths:
            if pattern.fullmatch(path):
                return allow
        return None


def _template_pattern(path: str) -> re.Pattern[str]:
    parts = re.split(r"(\{[^/{}]+\})", path)
    return re.compile("".join("[^/]+" if p.startswith("{") else re.escape(p) for p in parts))


def _allow_value(methods: Iterable[str]) -> str:
    declared = {method.upper() for method in methods}
    # Starlette answers HEAD wherever it answers GET.
    if "GET" in declared:
        declared.add("HEAD")
    return ", ".join(sorted(declared))


def _challenge(request: ConnexionRequest) -> str:
    presented = request.headers.get("authorization", "").lower().startswith("bearer ")
    return Unauthenticated.headers_for(token_presented=presented)["WWW-Authenticate"]


def _auth_error(oauth: OAuthPaths) -> Any:
    def handle(request: ConnexionRequest, exc: Exception) -> ConnexionResponse:
        assert isinstance(exc, AuthError)
        ext = {**(oauth.error_member(request.url.path, exc.status) or {}), **exc.members}
        return problem(
            exc.status,
            exc.title,
            exc.detail,
            type=exc.problem_type,
            headers=exc.headers,
            ext=ext or None,
        )

    return handle


def _connexion_problem(oauth: OAuthPaths) -> Any:
    def handle(request: ConnexionRequest, exc: Exception) -> ConnexionResponse:
        assert isinstance(exc, ProblemException)
        path = request.url.path
        headers = dict(exc.headers or {})
        if exc.status == 401:
            headers["WWW-Authenticate"] = oauth.challenge(path) or _challenge(request)
        return problem(
            exc.status,
            exc.title or HTTP_STATUS_CODES.get(exc.status, "Error"),
            exc.detail or HTTP_STATUS_CODES.get(exc.status, "Error"),
            headers=headers,
            ext=oauth.error_member(path, exc.status),
        )

    return handle


def _http_exception(allowed: AllowedMethods) -> Any:
    def handle(request: ConnexionRequest, exc: Exception) -> ConnexionResponse:
        assert isinstance(exc, HTTPException)
        title = HTTP_STATUS_CODES.get(exc.status_code, "Error")
        detail = {404: "No such resource.", 405: "Method not allowed for this resource."}.get(
            exc.status_code, title
        )
        headers = dict(exc.headers or {})
        if exc.status_code == 405:
            headers["Allow"] = allowed.for_path(request.url.path) or headers.get("Allow", "")
        return problem(exc.status_code, title, detail, headers=headers)

    return handle


def _unexpected(request: ConnexionRequest, exc: Exception) -> ConnexionResponse:
    # The type only: the message of an unexpected error could carry a secret.
    logger.error("unhandled error", extra={"fields": {"exc_type": type(exc).__name__}})
    return problem(500, "Internal Server Error", "The server could not handle the request.")


def register_error_handlers(
    app: AsyncApp, allowed: AllowedMethods, oauth: OAuthPaths | None = None
) -> None:
    """Install the mapping on the app; handlers run for HTTP and security errors alike."""
    oauth = oauth or OAuthPaths({})
    app.add_error_handler(AuthError, _auth_error(oauth))
    app.add_error_handler(ProblemException, _connexion_problem(oauth))
    app.add_error_handler(HTTPException, _http_exception(allowed))
    app.add_error_handler(Exception, _unexpected)
