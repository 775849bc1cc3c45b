"""Answer straight over ASGI, for the edge that answers before Connexion: limits and /metrics."""

from __future__ import annotations

import json
from collections.abc import Mapping

from starlette.types import Send


async def send_response(
    send: Send,
    status: int,
    body: bytes,
    content_type: str,
    headers: Mapping[str, str] | None = None,
) -> None:
    """Send a whole answer: status, content type and length, these headers, then the body."""
    raw = [(b"content-type", content_type.encode()), (b"content-length", b"%d" % len(body))]
    raw += [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})


async def send_problem(
    send: Send, status: int, title: str, detail: str, headers: Mapping[str, str] | None = None
) -> None:
    """Send an `application/problem+json` answer of this status, title and detail."""
    problem = {"type": "about:blank", "title": title, "status": status, "detail": detail}
    await send_response(
        send, status, json.dumps(problem).encode(), "application/problem+json", headers
    )
