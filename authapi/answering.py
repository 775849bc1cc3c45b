"""Work that waits until the caller has been answered.

A use case may leave work that its caller must not wait for, nor be able to time: the web
layer serves each request inside `answering`, and calls what it yields once the whole
answer is sent; `after_answer` starts work that waits for that moment. The request still
waits for that work before it ends, so no task outlives the request that made it: none is
cancelled half-way by a loop that stops (a test client's) or races the shutdown that
closes the store under it. Outside a request (a script, a test calling a use case) there
is no answer to protect, and `after_answer` declines: the caller does the work itself.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import asynccontextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any


@dataclass
class _Request:
    answered: asyncio.Event = field(default_factory=asyncio.Event)
    work: set[asyncio.Task[None]] = field(default_factory=set)


# The request being served; tasks created while serving it inherit it.
_serving: ContextVar[_Request | None] = ContextVar("authapi_serving", default=None)


@asynccontextmanager
async def answering() -> AsyncIterator[Callable[[], None]]:
    """Serve one request; call what this yields once its answer is sent.

    The answer counts as sent on the way out in any case (an error, a client gone), so that
    no work waits for an answer that will never be sent. On the way out, the work the
    request left is awaited, and never cancelled: `asyncio.wait` leaves it running.
    """
    request = _Request()
    token = _serving.set(request)
    try:
        yield request.answered.set
    finally:
        request.answered.set()
        _serving.reset(token)
        if request.work:
            await asyncio.wait(request.work)


def after_answer(work: Callable[[], Coroutine[Any, Any, None]]) -> asyncio.Task[None] | None:
    """Start `work()` to run once this request is answered; None outside a request."""
    request = _serving.get()
    if request is None:
        return None

    async def once_answered() -> None:
        await request.answered.wait()
        await work()

    task = asyncio.create_task(once_answered())
    request.work.add(task)
    task.add_done_callback(request.work.discard)
    return task
