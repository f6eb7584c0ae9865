"""A ceiling on requests a second to one destination (``max_per_second``), per container.

Each request reserves the next free slot, ``1 / rate`` seconds after the previous one, and waits
until it comes; a request whose slot comes too late for its deadline is not sent (and does not
keep the slot). The clock is injected, so the schedule is tested without waiting.

>>> clock = iter([0.0, 0.0, 0.0]).__next__
>>> pace = Pace(per_second=2.0, clock=clock)
>>> pace.reserve(within=10.0), pace.reserve(within=10.0), pace.reserve(within=0.5)
(0.0, 0.5, None)
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class Pace:
    """Hands out send times at most ``per_second`` a second (thread-safe)."""

    def __init__(self, per_second: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.interval, self.clock = 1.0 / per_second, clock
        self._next = -float("inf")
        self._lock = threading.Lock()

    def reserve(self, within: float) -> float | None:
        """Seconds to wait before sending, or None if the slot is more than ``within`` seconds away."""
        with self._lock:
            now = self.clock()
            start = max(now, self._next)
            wait = start - now
            if wait > within:
                return None
            self._next = start + self.interval
            return wait
