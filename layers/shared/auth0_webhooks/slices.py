"""Draining a backlog in time slices read at once, with the checkpoint only over the done prefix.

:func:`plan_slices` splits the ids from a checkpoint to the tenant's newest log into slices at
synthetic ids (the last slice is open: it goes on to the newest log, live writes included).
:class:`SliceTracker` records how far each slice's logs were accepted downstream and gives the
checkpoint: the end of the contiguous prefix of done slices, or the progress of the first slice not
done. A crash re-reads at most the slices after that prefix; none is ever skipped.
:class:`SliceReader` reads the slices on worker threads sharing one source (and so one session, and
one :class:`~auth0_webhooks.ratelimit.RateLimiter` under it), lowest slice first.

>>> from datetime import UTC, datetime, timedelta
>>> first = synthetic_id(datetime(2026, 11, 1, tzinfo=UTC))
>>> last = synthetic_id(datetime(2026, 11, 1, 1, tzinfo=UTC))
>>> [(s.after[3:17], s.until and s.until[3:17]) for s in plan_slices(first, last, 3)]
[('20261101000000', '20261101002000'), ('20261101002000', '20261101004000'), ('20261101004000', None)]
>>> tracker = SliceTracker(plan_slices(first, last, 3))
>>> tracker.advance(1, "b"); tracker.finish(1); tracker.checkpoint() == first
True
>>> tracker.advance(0, "a"); tracker.checkpoint()
'a'
>>> tracker.finish(0); tracker.checkpoint() == tracker.slices[2].after, tracker.done_prefix()
(True, 2)
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from .auth0_source import Auth0LogSource, TimeLeft
from .errors import RateLimited
from .log_ids import id_time, synthetic_id
from .windows import TAKE, RangePage, read_ids

MAX_WORKERS = 32  # threads reading slices at once, whatever the rate and round trip say
SLICES_PER_WORKER = 4  # more slices than workers, so that a busy stretch of time does not hold one worker


@dataclass(frozen=True)
class Slice:
    """The logs with ids in (after, until]; ``until=None`` goes on to the tenant's newest log."""

    index: int
    after: str
    until: str | None


def plan_slices(checkpoint: str, newest: str, count: int) -> list[Slice]:
    """Up to ``count`` slices of equal time from ``checkpoint`` to ``newest``; one if the ids carry no time."""
    start, end = id_time(checkpoint), id_time(newest)
    if start is None or end is None or end <= start or count <= 1:
        return [Slice(0, checkpoint, None)]
    bounds = [checkpoint]
    for number in range(1, count):
        bound = synthetic_id(start + (end - start) * number / count)
        if bound > bounds[-1]:
            bounds.append(bound)
    return [Slice(i, after, bounds[i + 1] if i + 1 < len(bounds) else None) for i, after in enumerate(bounds)]


def workers_for(rate: float, round_trip: float) -> int:
    """Threads that keep ``rate`` requests a second going with ``round_trip`` seconds each, with room to spare.

    >>> workers_for(16, 0.25), workers_for(100 / 60, 0.25), workers_for(1000, 1)
    (7, 2, 32)
    """
    return max(1, min(MAX_WORKERS, math.ceil(rate * round_trip * 1.5) + 1))


class SliceTracker:
    """Which slices are done and how far the others got; thread-safe."""

    def __init__(self, slices: list[Slice]) -> None:
        self.slices = slices
        self._cursors = [s.after for s in slices]
        self._done = [False] * len(slices)
        self._lock = threading.Lock()

    def advance(self, index: int, cursor: str) -> None:
        """Slice ``index``'s logs up to ``cursor`` were accepted downstream."""
        with self._lock:
            self._cursors[index] = cursor

    def cursor(self, index: int) -> str:
        """Where slice ``index`` goes on from."""
        with self._lock:
            return self._cursors[index]

    def finish(self, index: int) -> None:
        with self._lock:
            self._done[index] = True

    def done_prefix(self) -> int:
        """How many slices from the first are done."""
        with self._lock:
            return next((i for i, done in enumerate(self._done) if not done), len(self._done))

    def checkpoint(self) -> str:
        """The id the checkpoint may move to: never past a log that was not accepted."""
        prefix = self.done_prefix()
        with self._lock:
            if prefix == len(self.slices):
                last = self.slices[-1]
                return self._cursors[-1] if last.until is None else last.until
            return self._cursors[prefix]

    def pending(self) -> list[Slice]:
        with self._lock:
            return [s for s, done in zip(self.slices, self._done, strict=True) if not done]


Sink = Callable[[Slice, RangePage], None]  # takes a page's logs downstream; raises if it could not


@dataclass
class DrainResult:
    """What a drain did; ``stopped``: caught-up | out-of-time | rate-limited | failed."""

    checkpoint: str
    stopped: str = "caught-up"
    slices: int = 0
    done_slices: int = 0
    read: int = 0
    malformed: int = 0
    requests: int = 0
    retries: int = 0
    rate_limit_waits: int = 0
    errors: list[str] = field(default_factory=list)


class SliceReader:
    """Reads a tracker's pending slices on ``workers`` threads; each page goes to ``sink`` before it counts."""

    def __init__(self, source: Auth0LogSource, workers: int, take: int = TAKE, min_page: float = 1.0) -> None:
        self.source, self.workers, self.take, self.min_page = source, workers, take, min_page

    def drain(self, tracker: SliceTracker, sink: Sink, time_left: TimeLeft) -> DrainResult:
        """Read until every slice is done, time runs short or something fails (then raise it, after all stop).

        ``sink`` is called from the worker threads and must be thread-safe.
        """
        result = DrainResult(tracker.checkpoint(), slices=len(tracker.slices))
        todo = list(reversed(tracker.pending()))  # pop() gives the lowest slice first
        lock, stop = threading.Lock(), threading.Event()
        failures: list[BaseException] = []

        def next_slice() -> Slice | None:
            with lock:
                return todo.pop() if todo and not stop.is_set() else None

        def end(reason: str, error: BaseException | None = None) -> None:
            with lock:
                if result.stopped == "caught-up" or (error is not None and not failures):
                    result.stopped = reason
                if error is not None:
                    failures.append(error)
                    result.errors.append(f"{type(error).__name__}: {error}")
            stop.set()

        def work() -> None:
            while (piece := next_slice()) is not None:
                try:
                    self._read(piece, tracker, sink, time_left, stop, result, lock, end)
                except RateLimited:
                    end("rate-limited")
                except Exception as error:
                    end("failed", error)

        with ThreadPoolExecutor(max_workers=max(1, self.workers), thread_name_prefix="slice") as pool:
            for _ in range(max(1, min(self.workers, len(todo)))):
                pool.submit(work)
        result.checkpoint, result.done_slices = tracker.checkpoint(), tracker.done_prefix()
        if failures:
            raise failures[0]
        return result

    def _read(
        self,
        piece: Slice,
        tracker: SliceTracker,
        sink: Sink,
        time_left: TimeLeft,
        stop: threading.Event,
        result: DrainResult,
        lock: threading.Lock,
        end: Callable[[str], None],
    ) -> None:
        pages = read_ids(self.source, tracker.cursor(piece.index), piece.until, time_left, self.take)
        while True:
            if stop.is_set():
                return
            if time_left() < self.min_page:
                end("out-of-time")
                return
            page = next(pages, None)
            if page is None:
                break
            sink(piece, page)
            tracker.advance(piece.index, page.cursor)
            with lock:
                result.read += len(page.logs)
                result.malformed += len(page.malformed)
                result.requests += page.source.request_count
                result.retries += page.source.retries
                result.rate_limit_waits += page.source.rate_limit_waits
            if page.done:
                break
        tracker.finish(piece.index)
