"""First come, first served turns for a database's connections."""

from __future__ import annotations

import asyncio
from types import TracebackType

from authapi.errors import StoreUnavailable


class Turns:
    """Let at most `count` callers hold a connection, in the order they asked.

    The pool's own queue lets a newcomer take a connection that a woken waiter was promised,
    and under load a few requests starved for hundreds of milliseconds. Waiting here instead,
    a request is served in its turn, or answered StoreUnavailable after `timeout` seconds.
    """

    def __init__(self, count: int, timeout: float) -> None:
        self._semaphore = asyncio.Semaphore(count)
        self._timeout = timeout

    async def __aenter__(self) -> None:
        if not self._semaphore.locked():
            # A free turn is taken at once: no timer to set up and cancel.
            await self._semaphore.acquire()
            return
        try:
            async with asyncio.timeout(self._timeout):
                await self._semaphore.acquire()
        except TimeoutError as error:
            raise StoreUnavailable() from error

    async def __aexit__(
        self,
        _type: type[BaseException] | None,
        _error: BaseException | None,
        _traceback: TracebackType | None,
    ) -> None:
        self._semaphore.release()
