"""Backlog drain at a plan's rate limits: logs/s read as a share of the ceiling, sequential vs sliced.

The local tenant gets the plan's bucket (burst, refill rate) and a round-trip latency added to every
reply; it starts with an empty bucket and a backlog larger than the run can read, so the ceiling is
the refill rate x 100 logs a request. The sequential reader is today's: one checkpoint-mode page after
another. The sliced reader splits the backlog into time slices and reads them on threads under one
:class:`~auth0_webhooks.ratelimit.RateLimiter` (which learns the refill rate from the headers, keeping
``reserve`` of the bucket unused). Both only read: the logs are counted, not queued, so the figure is
the reading side's alone.

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
    """One reader's run: logs read, seconds, requests and 429s."""

    reader: str
    logs: int
    seconds: float
    requests: int
    answered_429: int
    ceiling: float

    @property
    def rate(self) -> float:
        return self.logs / self.seconds

    @property
    def share(self) -> float:
        """Logs a second as a share of the ceiling."""
        return self.rate / self.ceiling

    @property
    def share_429(self) -> float:
        return self.answered_429 / max(1, self.requests)


def measure(limits: Limits, seconds: float = 20.0, reserve: float = DEFAULT_RESERVE) -> tuple[Drain, Drain]:
    """The sequential and the sliced reader, each for about ``seconds`` on a fresh tenant with these limits."""
    backlog = math.ceil(limits.ceiling * seconds * 1.5) + limits.burst * PER_REQUEST
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
    before = tenant.stats.log_requests, tenant.stats.answered_429
    started = time.monotonic()
    while time.monotonic() - started < seconds:
        page = source.after(cursor, PER_REQUEST, lambda: 60.0)
        if not page.logs:
            break
        read += len(page.logs)
        cursor = page.logs[-1]["log_id"]
    elapsed = time.monotonic() - started
    requests, limited = tenant.stats.log_requests - before[0], tenant.stats.answered_429 - before[1]
    return Drain("sequential", read, elapsed, requests, limited, limits.ceiling)


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

    def count(piece: Slice, page: RangePage) -> None:
        with lock:
            read[0] += len(page.logs)

    before = tenant.stats.log_requests, tenant.stats.answered_429
    started = time.monotonic()
    with source.limited_by(limiter):
        SliceReader(source, workers, min_page=limits.round_trip).drain(tracker, count, time_left)
    elapsed = time.monotonic() - started
    requests, limited = tenant.stats.log_requests - before[0], tenant.stats.answered_429 - before[1]
    return Drain(f"sliced, {workers} threads", read[0], elapsed, requests, limited, limits.ceiling)


def lines(limits: Limits, drains: tuple[Drain, Drain]) -> list[str]:
    out = [
        f"{limits.name}: {limits.rate:g} requests/s, burst {limits.burst},"
        f" {limits.round_trip * 1000:.0f} ms round trips, ceiling {limits.ceiling:,.0f} logs/s"
    ]
    for drain in drains:
        out.append(
            f"  {drain.reader:<20} {drain.rate:8,.0f} logs/s  {drain.share:5.2f} of the ceiling"
            f"  ({drain.logs:,} logs in {drain.seconds:.1f}s, {drain.requests} requests, {drain.share_429:.1%} 429)"
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
