"""The clock a test's app reads: time is injected, never slept."""

from __future__ import annotations

import time


class Clock:
    """Starts at the test's start and ticks a millisecond per reading; tests move it on."""

    def __init__(self) -> None:
        self.now = float(int(time.time()))

    def __call__(self) -> float:
        # The tick keeps records made one after another in order, as real time would.
        self.now += 0.001
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds
