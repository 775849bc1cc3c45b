"""How handlers answer: a JSON body or none, with times in RFC 3339."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from starlette.responses import Response

NO_STORE = {"Cache-Control": "no-store"}


def json_reply(body: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> Response:
    """Answer with a JSON body, serialized here rather than by Connexion's response pipeline.

    Connexion passes a ready response through untouched (and still validates it against the
    spec when response validation is on), which saves it inferring types on every request.
    """
    return Response(
        json.dumps(body), status_code=status, media_type="application/json", headers=headers
    )


def no_content() -> Response:
    """Answer 204 with no body."""
    return Response(status_code=204)


def timestamp(moment: datetime | int | None) -> str | None:
    """Render a time (a datetime or epoch seconds) as RFC 3339 in UTC."""
    if moment is None:
        return None
    if isinstance(moment, int):
        moment = datetime.fromtimestamp(moment, UTC)
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")
