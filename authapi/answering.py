"""Work that waits until the caller has been answered.

A use case may leave work that its caller must not wait for, nor be able to time: the web
layer opens a gate per request (`answering`) and opens it once the whole answer is sent;
`until_answered` waits for the gate of the request that scheduled the work. Outside a
request (a script, a test calling a use case) there is no gate, and nothing waits.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

# The gate of the request being served; tasks created while serving it inherit it.
_answered: ContextVar[asyncio.Event | None] = ContextVar("authapi_answered", default=None)


@contextmanager
def answering() -> Iterator[Callable[[], None]]:
    """Open a gate for one request; call what this yields once its answer is sent.

    The gate opens on the way out in any case (an error, a client gone), so that no work
    waits for an answer that will never be sent.
    """
    gate = asyncio.Event()
    token = _answered.set(gate)
    try:
        yield gate.set
    finally:
        gate.set()
        _answered.reset(token)


def answered_gate() -> asyncio.Event | None:
    """Return the gate of the request being served, if any, for work to wait on later."""
    return _answered.get()
