"""Map every error to an RFC 9457 `application/problem+json` response."""

from __future__ import annotations

import logging

from connexion import AsyncApp
from connexion.exceptions import ProblemException
from connexion.http_facts import HTTP_STATUS_CODES
from connexion.lifecycle import ConnexionRequest, ConnexionResponse
from connexion.problem import problem
from starlette.exceptions import HTTPException

from authapi.errors import AuthError, Unauthenticated

logger = logging.getLogger(__name__)


def _challenge(request: ConnexionRequest) -> str:
    presented = request.headers.get("authorization", "").lower().startswith("bearer ")
    return Unauthenticated.headers_for(token_presented=presented)["WWW-Authenticate"]


def _auth_error(request: ConnexionRequest, exc: Exception) -> ConnexionResponse:
    assert isinstance(exc, AuthError)
    return problem(exc.status, exc.title, exc.detail, headers=exc.headers)


def _connexion_problem(request: ConnexionRequest, exc: Exception) -> ConnexionResponse:
    assert isinstance(exc, ProblemException)
    headers = dict(exc.headers or {})
    if exc.status == 401:
        headers["WWW-Authenticate"] = _challenge(request)
    return problem(
        exc.status,
        exc.title or HTTP_STATUS_CODES.get(exc.status, "Error"),
        exc.detail or HTTP_STATUS_CODES.get(exc.status, "Error"),
        headers=headers,
    )


def _http_exception(request: ConnexionRequest, exc: Exception) -> ConnexionResponse:
    assert isinstance(exc, HTTPException)
    title = HTTP_STATUS_CODES.get(exc.status_code, "Error")
    detail = {404: "No such resource.", 405: "Method not allowed for this resource."}.get(
        exc.status_code, title
    )
    return problem(exc.status_code, title, detail, headers=dict(exc.headers or {}))


def _unexpected(request: ConnexionRequest, exc: Exception) -> ConnexionResponse:
    # The type only: the message of an unexpected error could carry a secret.
    logger.error("unhandled error", extra={"fields": {"exc_type": type(exc).__name__}})
    return problem(500, "Internal Server Error", "The server could not handle the request.")


def register_error_handlers(app: AsyncApp) -> None:
    """Install the mapping on the app; handlers run for HTTP and security errors alike."""
    app.add_error_handler(AuthError, _auth_error)
    app.add_error_handler(ProblemException, _connexion_problem)
    app.add_error_handler(HTTPException, _http_exception)
    app.add_error_handler(Exception, _unexpected)
