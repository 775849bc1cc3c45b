"""The last word on an unexpected error anywhere in the stack: the problem 500, never a bare one.

It takes the place of Connexion 3.3's ServerErrorMiddleware, whose default answer is a
coroutine function that Starlette 0.52 calls without awaiting: every error in the layers
outside Connexion's exception handling (the limits, the request context, CORS, /metrics)
became uvicorn's text/plain 500, logged as `TypeError: 'coroutine' object is not callable`.
"""

from __future__ import annotations

import logging
import traceback
from pathlib import Path

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from authapi.web.middleware import REQUEST_ID_KEY, request_id_for, with_our_headers
from authapi.web.raw_responses import send_problem

logger = logging.getLogger(__name__)


class UnexpectedErrors:
    """Answer any exception that reaches the top with the problem 500, and log its type."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracked_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracked_send)
        except Exception as error:
            # The request context gave the request its id, unless the error came first.
            request_id = scope[REQUEST_ID_KEY] = request_id_for(scope)
            _log(error, request_id)
            # Not raised again, as Starlette's layer does for the server to log: it is logged.
            if started:
                # Half an answer is on the wire: the server closes the connection.
                return
            path: str = scope["path"]
            is_docs, is_api = path.startswith("/docs"), path.startswith("/api/")

            async def send_with_headers(message: Message) -> None:
                if message["type"] == "http.response.start":
                    message["headers"] = with_our_headers(
                        message["headers"], request_id, is_docs, is_api
                    )
                await send(message)

            await send_problem(
                send_with_headers,
                500,
                "Internal Server Error",
                "The server could not handle the request.",
            )


def _log(error: Exception, request_id: str) -> None:
    # The type and where it was raised, never the message: it could carry a request's secret.
    frames = traceback.extract_tb(error.__traceback__)
    where = f"{Path(frames[-1].filename).name}:{frames[-1].lineno}" if frames else "unknown"
    logger.error(
        "unhandled error",
        extra={
            "fields": {"exc_type": type(error).__name__, "where": where, "request_id": request_id}
        },
    )
