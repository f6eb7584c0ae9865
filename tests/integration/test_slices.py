"""Sliced backlog drain and the shared rate limiter against the local tenant, over real HTTP.

The tenant's bucket and the limiter share a clock that moves only when the limiter waits, so no test
depends on how fast this machine is.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from auth0_webhooks.errors import QueueError
from auth0_webhooks.log_ids import synthetic_id
from auth0_webhooks.ratelimit import RateLimiter, limited_session
from auth0_webhooks.search_mode import newest
from auth0_webhooks.slices import Slice, SliceReader, SliceTracker, plan_slices
from auth0_webhooks.windows import RangePage

from devkit.clock import FakeClock
from devkit.logs import LogFactory
from devkit.tenant import LocalTenant, TokenBucket
from tests.conftest import ids_of
from tests.integration.test_windows import forever, source_for

START = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)
CHECKPOINT = synthetic_id(START - timedelta(seconds=1))


class Sink:
    """Stands for SQS: keeps every id it is given.

    ``fail_at=k`` makes it refuse slice k's first page, once slice k+1 has delivered a page (so that a
    slice after the failure holds delivered logs, as it may in a real crash).
    """

    def __init__(self, fail_at: int | None = None) -> None:
        self.ids: list[str] = []
        self.fail_at = fail_at
        self.lock = threading.Lock()
        self.calls = 0
        self.on_first_call: Callable[[], None] = lambda: None
        self.next_slice_delivered = threading.Event()

    def __call__(self, piece: Slice, page: RangePage) -> None:
        if piece.index == self.fail_at:
            assert self.next_slice_delivered.wait(10)
            raise QueueError("SQS refused the batch", accepted=0)
        with self.lock:
            self.calls += 1
            if self.calls == 1:
                self.on_first_call()
            self.ids += ids_of(page.logs)
        if self.fail_at is not None and piece.index == self.fail_at + 1:
            self.next_slice_delivered.set()


def newest_id(source) -> str:
    entry = newest(source, forever)
    assert entry is not None
    return str(entry["log_id"])


def drain(tenant: LocalTenant, checkpoint: str, sink: Sink, slices: int = 12, workers: int = 4, source=None):
    source = source or source_for(tenant)
    tracker = SliceTracker(plan_slices(checkpoint, newest_id(source), slices))
    return tracker, SliceReader(source, workers=workers).drain(tracker, sink, forever)


def test_a_sliced_drain_with_live_writes_gives_every_log_exactly_once(tenant):
    factory = LogFactory(seed=11, start=START)
    backlog = factory.many(3000)
    tenant.add(backlog)
    live = factory.many(150)
    sink = Sink()
    sink.on_first_call = lambda: tenant.add(live)  # written while the drain runs, after the newest log

    tracker, result = drain(tenant, CHECKPOINT, sink)

    assert sorted(sink.ids) == ids_of(backlog + live)
    assert len(set(sink.ids)) == len(sink.ids)
    assert (result.stopped, result.done_slices, result.slices) == ("caught-up", 12, 12)
    assert result.checkpoint == live[-1]["log_id"]
    starts = {query["from"] for _, query, _ in tenant.stats.calls if "from" in query}
    assert {s.after for s in tracker.slices} <= starts  # each slice was read from its own start


def test_a_crash_mid_way_re_reads_at_most_the_slices_after_the_done_prefix(tenant):
    backlog = LogFactory(seed=12, start=START).many(3000)
    tenant.add(backlog)
    source = source_for(tenant)
    tracker = SliceTracker(plan_slices(CHECKPOINT, newest_id(source), 12))
    failing = Sink(fail_at=5)

    with pytest.raises(QueueError):
        SliceReader(source, workers=4).drain(tracker, failing, forever)
    crashed_at = tracker.checkpoint()  # what the poller stores before it fails the run

    assert tracker.done_prefix() <= 5 and crashed_at <= tracker.slices[5].after  # never ahead of the failure
    first = failing.ids
    assert all(i in first for i in ids_of(backlog) if i <= crashed_at)  # nothing before it was lost

    again = Sink()
    drain(tenant, crashed_at, again)

    assert set(first) | set(again.ids) == set(ids_of(backlog))
    repeated = Counter(first + again.ids) - Counter(ids_of(backlog))
    assert repeated and all(i > crashed_at for i in repeated)  # only logs after the done prefix came twice
    assert len(again.ids) == len(set(again.ids))


def sliced_drain_under_a_bucket(reserve: float, rate: float | None) -> tuple[TokenBucket, LocalTenant, RateLimiter]:
    """8 workers drain 8,000 logs from a tenant with Enterprise limits (burst 50, 16/s) through one limiter."""
    clock = FakeClock()
    bucket = TokenBucket(burst=50, rate=16, clock=clock.now)
    with LocalTenant(bucket=bucket) as tenant:
        backlog = LogFactory(seed=13, start=START).many(8000)
        tenant.add(backlog)
        limiter = RateLimiter(reserve=reserve, rate=rate, clock=clock.now, sleep=clock.sleep)
        source = source_for(tenant, session=limited_session(limiter, forever), clock=clock.now, sleep=clock.sleep)
        sink = Sink()

        _, result = drain(tenant, CHECKPOINT, sink, slices=32, workers=8, source=source)

        assert sorted(sink.ids) == ids_of(backlog)
        assert result.stopped == "caught-up" and limiter.stats().waits > 0
    return bucket, tenant, limiter


@pytest.mark.parametrize("reserve", [0.2, 0.5])
def test_the_reserve_keeps_its_share_of_the_bucket_unused(reserve):
    bucket, tenant, _ = sliced_drain_under_a_bucket(reserve, rate=16)

    assert tenant.stats.answered_429 == 0
    assert bucket.lowest >= reserve * 50  # the reserved share was never drawn


def test_slices_learning_the_rate_share_one_bucket_without_a_429_storm():
    bucket, tenant, limiter = sliced_drain_under_a_bucket(0.2, rate=None)

    assert tenant.stats.answered_429 < 0.01 * tenant.stats.log_requests
    assert 1.0 < limiter.rate <= 16
    # while the rate is still being learned, replies out of order may let the estimate run a token or two
    # ahead of the tenant's count; never more than the requests in flight at once (8)
    assert bucket.lowest >= 0.2 * 50 - 8
