"""A clock for tests: time moves only when something sleeps on it, so no test waits on the wall clock."""

from __future__ import annotations

import threading
import time


class FakeClock:
    """A clock that moves only when something sleeps on it; threads share it.

    Each sleep moves the shared clock on by its length at once, so no test waits on the wall clock.
    """

    def __init__(self, start: float = 1_800_000_000.0) -> None:
        self._now, self._lock = start, threading.Lock()

    def now(self) -> float:
        with self._lock:
            return self._now

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self._now += max(0.0, seconds)
        time.sleep(0)  # let the other threads run
