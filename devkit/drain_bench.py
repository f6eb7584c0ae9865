"""Backlog drain at a plan's rate limits: logs/s read as a share of the ceiling, sequential vs sliced.

The local tenant gets the plan's bucket (burst, refill rate) and a round-trip latency added to every
reply; it starts with an empty bucket and a backlog larger than the run can read, so the ceiling is
the refill rate x 100 logs a request. The sequential reader is today's: one checkpoint-mode page after
another. The sliced reader splits the backlog into time slices and reads them on threads under one
:class:`~auth0_webhooks.ratelimit.RateLimiter` (which learns the refill rate from the headers, keeping
``reserve`` of the bucket unused). Both only read: the logs are counted, not queued, so the figure is
the reading side's alone.

Each reader's rate is given twice: over the whole run, and in its steady state, from the arrival of its
first page to the end (with the requests and 429s of that stretch). The start-up left out of the second
is paid once a run, not per page: fetching the token, and the empty bucket refilling to the reserve
before the sliced reader's first request (at Essentials' 100 a minute, 2 of 10 tokens take 1.2 s).

``.venv/bin/python -m devkit.drain_bench [--seconds 20]`` prints both plans; :func:`measure` is what
``make bench`` calls.
"""

from __future__ import annotations

import argparse
import math
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from auth0_webhooks.auth0_source import Auth0LogSource
from auth0_webhooks.env import Secret
from auth0_webhooks.log_ids import synthetic_id
from auth0_webhooks.ratelimit import DEFAULT_RESERVE, RateLimiter
from auth0_webhooks.settings import Auth0Settings
from auth0_webhooks.slices import SLICES_PER_WORKER, Slice, SliceReader, SliceTracker, plan_slices, workers_for
from auth0_webhooks.windows import RangePage

from .logs import LogFactory
from .tenant import LocalTenant, TokenBucket

CLIENT_ID, CLIENT_SECRET = "local-client", "local-secret-do-not-log"
PER_REQUEST = 100  # logs in a full page
MAX_BACKLOG = 60_000  # logs the tenant holds for a run, at most (about 90 MB of JSON)
START = datetime(2026, 11, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Limits:
    """A plan's rate limit for reading logs, and the round trip to its tenant."""

    name: str
    rate: float  # requests a second, sustained
    burst: int
    round_trip: float = 0.25  # seconds

    @property
    def ceiling(self) -> float:
        """Logs a second at the sustained rate, a full page a request."""
        return self.rate * PER_REQUEST


ENTERPRISE = Limits("Enterprise", rate=16, burst=50)
ESSENTIALS = Limits("Essentials", rate=100 / 60, burst=10)


@dataclass(frozen=True)
class Drain:
    """One reader's run: logs read, seconds, requests and 429s, and when each page arrived.

    ``rate`` and ``share`` are the whole run's; ``steady_rate`` and ``steady_share`` leave out its
    start-up (``start_up``: the token, and the empty bucket filling to the reserve before the first
    request may go), which a run pays once, not per page.

    >>> drain = Drain("r", logs=300, seconds=4.0, requests=3, answered_429=0, ceiling=100.0,
    ...               pages=((1.0, 100), (2.0, 100), (3.0, 100)))
    >>> drain.share, drain.start_up, round(drain.steady_share, 3)
    (0.75, 1.0, 0.667)
    """

    reader: str
    logs: int
    seconds: float
    requests: int
    answered_429: int
    ceiling: float
    pages: tuple[tuple[float, int], ...] = ()  # (seconds from the start, logs) as each page arrived
    steady_requests: int = 0  # requests, and those answered 429, after the first page arrived
    steady_429: int = 0

    @property
    def rate(self) -> float:
        return self.logs / self.seconds

    @property
    def share(self) -> float:
        """Logs a second as a share of the ceiling."""
        return self.rate / self.ceiling

    @property
    def start_up(self) -> float:
        """Seconds until the first page arrived."""
        return self.pages[0][0] if self.pages else self.seconds

    @property
    def steady_rate(self) -> float:
        """Logs a second after the first page: the logs of the later pages over the time from it to the end."""
        if len(self.pages) < 2 or self.seconds <= self.start_up:
            return self.rate
        return sum(logs for _, logs in self.pages[1:]) / (self.seconds - self.start_up)

    @property
    def steady_share(self) -> float:
        return self.steady_rate / self.ceiling

    @property
    def share_429(self) -> float:
        return self.answered_429 / max(1, self.requests)

    @property
    def steady_share_429(self) -> float:
        return self.steady_429 / max(1, self.steady_requests)


def measure(limits: Limits, seconds: float = 20.0, reserve: float = DEFAULT_RESERVE) -> tuple[Drain, Drain]:
    """The sequential and the sliced reader, each for about ``seconds`` on a fresh tenant with these limits.

    The backlog is large enough that the sliced reader's slices (``SLICES_PER_WORKER`` a thread) are
    longer than what a thread reads in the run, where memory allows (``MAX_BACKLOG``): each slice
    ends on a short page, and a backlog worth slicing (hours of logs) has few ends per page read.
    """
    wanted = max(limits.ceiling * seconds * SLICES_PER_WORKER * 1.25, limits.ceiling * seconds * 1.5)
    backlog = min(MAX_BACKLOG, math.ceil(wanted)) + limits.burst * PER_REQUEST
    logs = LogFactory(seed=1, start=START).many(backlog)
    results = []
    for reader in (sequential, sliced):
        bucket = TokenBucket(burst=limits.burst, rate=limits.rate)
        bucket.tokens = 0.0  # start empty: the run gets the sustained rate and no burst
        with LocalTenant(CLIENT_ID, CLIENT_SECRET, bucket=bucket, latency=limits.round_trip) as tenant:
            tenant.add(logs)
            results.append(reader(tenant, limits, seconds, reserve))
    return results[0], results[1]


def settings_for(tenant: LocalTenant) -> Auth0Settings:
    return Auth0Settings(tenant.url, tenant.url.split("://", 1)[1], CLIENT_ID, Secret(CLIENT_SECRET))


def sequential(tenant: LocalTenant, limits: Limits, seconds: float, reserve: float) -> Drain:
    """Today's reader: the next page starts from the last page's last id."""
    source = Auth0LogSource(settings_for(tenant))
    source.token(lambda: 10.0)
    cursor, read = synthetic_id(START - timedelta(seconds=1)), 0
    pages: list[tuple[float, int]] = []
    before = first = tenant.stats.log_requests, tenant.stats.answered_429
    started = time.monotonic()
    while time.monotonic() - started < seconds:
        page = source.after(cursor, PER_REQUEST, lambda: 60.0)
        if not page.logs:
            break
        read += len(page.logs)
        if not pages:
            first = tenant.stats.log_requests, tenant.stats.answered_429
        pages.append((time.monotonic() - started, len(page.logs)))
        cursor = page.logs[-1]["log_id"]
    return _drain("sequential", tenant, limits, read, time.monotonic() - started, before, first, pages)


def sliced(tenant: LocalTenant, limits: Limits, seconds: float, reserve: float) -> Drain:
    """Time slices on threads under one limiter that learns the refill rate from the replies."""
    limiter = RateLimiter(reserve=reserve)
    started = time.monotonic()

    def time_left() -> float:
        return seconds - (time.monotonic() - started)

    source = Auth0LogSource(settings_for(tenant))  # as the poller reads: every request under the run's limiter
    source.token(lambda: 10.0)
    last = tenant.logs[-1]  # what search mode's newest log would be; asking would take a token from the run
    workers = workers_for(limits.rate, limits.round_trip)
    checkpoint = synthetic_id(START - timedelta(seconds=1))
    tracker = SliceTracker(plan_slices(checkpoint, last["log_id"], workers * SLICES_PER_WORKER))
    read, lock = [0], threading.Lock()
    pages: list[tuple[float, int]] = []
    before = tenant.stats.log_requests, tenant.stats.answered_429
    first = [before]

    def count(piece: Slice, page: RangePage) -> None:
        with lock:
            read[0] += len(page.logs)
            if not pages:
                first[0] = tenant.stats.log_requests, tenant.stats.answered_429
            pages.append((time.monotonic() - started, len(page.logs)))

    started = time.monotonic()
    with source.limited_by(limiter):
        SliceReader(source, workers, min_page=limits.round_trip).drain(tracker, count, time_left)
    elapsed = time.monotonic() - started
    return _drain(f"sliced, {workers} threads", tenant, limits, read[0], elapsed, before, first[0], pages)


def _drain(
    reader: str,
    tenant: LocalTenant,
    limits: Limits,
    read: int,
    elapsed: float,
    before: tuple[int, int],
    first: tuple[int, int],
    pages: list[tuple[float, int]],
) -> Drain:
    """A reader's run from the tenant's counts at its start (``before``), at its first page and now."""
    now = tenant.stats.log_requests, tenant.stats.answered_429
    return Drain(
        reader,
        read,
        elapsed,
        requests=now[0] - before[0],
        answered_429=now[1] - before[1],
        ceiling=limits.ceiling,
        pages=tuple(pages),
        steady_requests=now[0] - first[0],
        steady_429=now[1] - first[1],
    )


def lines(limits: Limits, drains: tuple[Drain, Drain]) -> list[str]:
    out = [
        f"{limits.name}: {limits.rate:g} requests/s, burst {limits.burst},"
        f" {limits.round_trip * 1000:.0f} ms round trips, ceiling {limits.ceiling:,.0f} logs/s"
    ]
    for drain in drains:
        out.append(
            f"  {drain.reader:<20} {drain.steady_rate:8,.0f} logs/s  {drain.steady_share:5.2f} of the ceiling"
            f" after its first page at {drain.start_up:.1f}s; {drain.share:.2f} over the whole run"
            f"  ({drain.logs:,} logs in {drain.seconds:.1f}s, {drain.requests} requests, {drain.share_429:.1%} 429;"
            f" {drain.steady_share_429:.1%} after the first page)"
        )
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--seconds", type=float, default=20.0, help="how long each reader reads (default 20)")
    parser.add_argument("--reserve", type=float, default=DEFAULT_RESERVE, help="RATE_LIMIT_RESERVE (default 0.2)")
    args = parser.parse_args(argv)
    for limits in (ENTERPRISE, ESSENTIALS):
        print("\n".join(lines(limits, measure(limits, args.seconds, args.reserve))), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
