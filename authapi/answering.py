"""Work that waits until the caller has been answered.

A use case may leave work that its caller must not wait for, nor be able to time: the web
layer serves each request as an `Answering`, tells it when the whole answer is sent, and
finishes it on the way out; `after_answer` starts work that waits for that moment. The
request still waits for that work before it ends, so no task outlives the request that
made it: none is cancelled half-way by a loop that stops (a test client's) or races the
shutdown that closes the store under it. Outside a request (a script, a test calling a use
case) there is no answer to protect, and `after_answer` declines: the caller does the work
itself. Every request pays for one small object; only one that leaves work pays for more.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import asynccontextmanager
from contextvars import ContextVar
from typing import Any


class Answering:
    """One request being served: whether its answer is sent, and the work it left."""

    __slots__ = ("_answered", "_sent", "_work")

    def __init__(self) -> None:
        self._sent = False
        self._answered: asyncio.Event | None = None
        self._work: set[asyncio.Task[None]] | None = None

    def sent(self) -> None:
        """Note that the whole answer is sent: the work left may start."""
        self._sent = True
        if self._answered is not None:
            self._answered.set()

    def leave(self, work: Callable[[], Coroutine[Any, Any, None]]) -> asyncio.Task[None]:
        """Start `work()` once the answer is sent."""
        if self._answered is None:
            self._answered = asyncio.Event()
            if self._sent:
                self._answered.set()
        answered = self._answered

        async def once_answered() -> None:
            await answered.wait()
            await work()

        task = asyncio.create_task(once_answered())
        if self._work is None:
            self._work = set()
        self._work.add(task)
        task.add_done_callback(self._work.discard)
        return task

    async def finish(self) -> None:
        """Count the answer as sent in any case (an error, a client gone); await the work left.

        `asyncio.wait` never cancels that work, even when the request itself is cancelled.
        """
        self.sent()
        if self._work:
            await asyncio.wait(self._work)


# The request being served; tasks created while serving it inherit it.
_serving: ContextVar[Answering | None] = ContextVar("authapi_serving", default=None)


@asynccontextmanager
async def answering() -> AsyncIterator[Callable[[], None]]:
    """Serve one request; call what this yields once its answer is sent."""
    request = Answering()
    token = _serving.set(request)
    try:
        yield request.sent
    finally:
        _serving.reset(token)
        await request.finish()


def serve(request: Answering) -> Callable[[], None]:
    """Make `request` the one being served in this context; return what ends that."""
    token = _serving.set(request)
    return lambda: _serving.reset(token)


def after_answer(work: Callable[[], Coroutine[Any, Any, None]]) -> asyncio.Task[None] | None:
    """Start `work()` to run once this request is answered; None outside a request."""
    request = _serving.get()
    return None if request is None else request.leave(work)
