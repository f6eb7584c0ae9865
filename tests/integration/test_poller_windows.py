"""The poller's start points, shared rate limiter and parallel backlog drain, against the local tenant and moto.

Start points go through the handler. The drains build the poller as ``build_poller`` does, with one
:class:`FakeClock` for the tenant's bucket, the limiter, the source and the run's deadline, so no test
depends on how fast this machine is.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests
from auth0_webhooks import clients
from auth0_webhooks.auth0_source import Auth0LogSource
from auth0_webhooks.checkpoint import CheckpointStore
from auth0_webhooks.errors import QueueError
from auth0_webhooks.filters import LogFilter
from auth0_webhooks.log_ids import synthetic_id
from auth0_webhooks.poller import Poller, RunResult, run_poller
from auth0_webhooks.queue import LogQueue
from auth0_webhooks.ratelimit import RateLimiter
from auth0_webhooks.settings import PollerSettings

from devkit.clock import FakeClock
from devkit.lambda_context import LambdaContext
from devkit.logs import LogFactory
from devkit.proxy import FaultProxy, sqs_action
from devkit.tenant import LocalTenant, TokenBucket
from functions.poller.app import lambda_handler
from tests.conftest import checkpoint_of, context, ids_of, load_event, queued_ids
from tests.integration.test_windows import opaque

EVENT = load_event("scheduled.json")


def key(tenant: LocalTenant) -> str:
    return tenant.url.split("://", 1)[1]


def run(seconds: float = 60.0) -> dict[str, Any]:
    return lambda_handler(EVENT, context(seconds))


def at(entry: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(entry["date"].replace("Z", "+00:00"))


# -- START_FROM through the handler ------------------------------------------------------------


def test_start_from_now_sends_nothing_old_and_a_redeploy_does_not_rewind(poller_env, tenant, stack, monkeypatch):
    factory = LogFactory(seed=21)
    old = factory.many(150)
    tenant.add(old)
    monkeypatch.setenv("START_FROM", "now")

    result = run()

    assert queued_ids(stack) == []
    assert result["start"] == "newest-log" and checkpoint_of(stack, key(tenant))["log_id"] == old[-1]["log_id"]
    assert checkpoint_of(stack, key(tenant))["start_from"] == "now"
    new = factory.many(30)
    tenant.add(new)

    again = run()  # the same START_FROM: carries on from the checkpoint, not from the newest log

    assert again["start"] is None
    assert queued_ids(stack) == ids_of(new)


@pytest.mark.parametrize("start_from", ["2026-11-01T09:00:30Z", "2026-11-01 09:00:30"])
def test_start_from_a_date_becomes_a_checkpoint_from_the_id(poller_env, tenant, stack, monkeypatch, start_from):
    logs = LogFactory(seed=22).many(300)  # from 2026-11-01T09:00:00Z, a few a second
    tenant.add(logs)
    since = datetime(2026, 11, 1, 9, 0, 30, tzinfo=UTC)
    monkeypatch.setenv("START_FROM", start_from)

    result = run()

    queued = queued_ids(stack)
    assert result["start"] == "synthetic-id"
    assert set(ids_of([e for e in logs if at(e) >= since])) <= set(queued)  # every log from the date on
    assert all(at(e) >= since - timedelta(seconds=10) for e in logs if e["log_id"] in set(queued))  # 10 s margin
    assert len(queued) == len(set(queued)) and checkpoint_of(stack, key(tenant))["log_id"] == logs[-1]["log_id"]
    assert not any("q" in query for _, query, _ in tenant.stats.calls[2:])  # no search past the two samples


def test_start_from_a_duration_is_fixed_when_first_applied(poller_env, tenant, stack, monkeypatch):
    now = datetime.now(UTC)
    factory = LogFactory(seed=23, start=now - timedelta(hours=3))
    logs = factory.many(400)  # three hours ago and on, a few a second: all within the last 3 hours
    since = at(logs[200])
    minutes = int((now - since).total_seconds() // 60)
    monkeypatch.setenv("START_FROM", f"{minutes}m")
    tenant.add(logs)

    first = run()

    start = now - timedelta(minutes=minutes)
    assert first["start"] == "synthetic-id"
    queued = queued_ids(stack)
    assert set(ids_of([e for e in logs if at(e) >= start])) <= set(queued)
    assert all(at(e) >= start - timedelta(seconds=11) for e in logs if e["log_id"] in set(queued))

    second = run()  # the same duration later: not applied again (it would now point at a later time)

    assert second["start"] is None and queued_ids(stack) == []


def test_ids_without_time_fall_back_to_search_mode_with_a_clear_line(poller_env, tenant, stack, monkeypatch, caplog):
    logs = opaque(LogFactory(seed=24).many(300))
    tenant.add(logs)
    monkeypatch.setenv("START_FROM", logs[120]["date"])

    result = run()

    assert result["start"] == "search-fallback"
    assert queued_ids(stack) == sorted(ids_of([e for e in logs if at(e) >= at(logs[120])]))
    assert any("log ids do not carry their time" in r.getMessage() for r in caplog.records if r.levelname == "WARNING")


# -- the parallel drain ------------------------------------------------------------------------


class Run:
    """A poller as build_poller makes it, with the tenant's bucket, the limiter and the deadline on one clock."""

    def __init__(self, clock: FakeClock, reserve: float = 0.2, rate: float | None = None, seconds: float = 50.0):
        settings = PollerSettings.from_env()
        self.clock, self.deadline = clock, clock.now() + seconds
        self.limiter = RateLimiter(reserve=reserve, rate=rate, clock=clock.now, sleep=clock.sleep)
        source = Auth0LogSource(settings.auth0, requests.Session(), clock=clock.now, sleep=clock.sleep)
        self.poller = Poller(
            source=source,
            store=CheckpointStore(clients.dynamodb(), settings.checkpoint_table, settings.auth0.domain),
            queue=LogQueue(clients.sqs(), settings.queue_url, settings.dead_letter_queue_url, sleep=clock.sleep),
            keep=LogFilter(settings.log_types, settings.min_log_level, settings.api_endpoints),
            batch_size=settings.batch_size,
            start_from=settings.start_from,
            start_point=settings.start_point,
            clock=clock.now,
            wall_clock=clock.now,
            limiter=self.limiter,
        )

    def __call__(self) -> RunResult:
        return self.poller.run(lambda: self.deadline - self.clock.now())


def enterprise_tenant(clock: FakeClock) -> LocalTenant:
    return LocalTenant(bucket=TokenBucket(burst=50, rate=16, clock=clock.now))


def point_at(tenant: LocalTenant, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AUTH0_DOMAIN", tenant.url)


def test_a_backlog_with_live_writes_drains_in_slices_every_log_once(poller_env, stack, monkeypatch):
    clock = FakeClock()  # 2027-01-15: the backlog (from 2026-11-01) is far behind
    with enterprise_tenant(clock) as tenant:
        point_at(tenant, monkeypatch)
        factory = LogFactory(seed=25)
        backlog = factory.many(6000)
        tenant.add(backlog)
        live = factory.many(500)
        # while the drain reads, more logs arrive (after 40 requests; their ids are past the backlog's)
        writer = threading.Thread(target=lambda: add_after(tenant, 40, live))
        writer.start()
        first = Run(clock)()
        writer.join()
        rest = Run(clock)()  # whatever came in after the open slice was read

        queued = queued_ids(stack)
        assert first.slices > 1 and first.stopped == "caught-up"
        assert queued == sorted(ids_of(backlog + live))  # every log exactly once
        assert checkpoint_of(stack, key(tenant))["log_id"] == live[-1]["log_id"] == rest.checkpoint
        assert tenant.stats.answered_429 < 0.01 * tenant.stats.log_requests


def add_after(tenant: LocalTenant, requests_served: int, logs: list[Any]) -> None:
    for _ in range(100_000):
        if tenant.stats.log_requests >= requests_served:
            break
        threading.Event().wait(0.001)
    tenant.add(logs)


def test_a_refused_batch_leaves_the_checkpoint_at_the_done_prefix(poller_env, stack, moto, monkeypatch):
    clock = FakeClock()
    with enterprise_tenant(clock) as tenant, FaultProxy(moto.url) as proxy:
        point_at(tenant, monkeypatch)
        monkeypatch.setenv("AWS_ENDPOINT_URL", proxy.url)
        backlog = LogFactory(seed=26).many(5000)
        tenant.add(backlog)
        proxy.fail_when(sqs_action("SendMessageBatch"), after=12, times=1000)

        with pytest.raises(QueueError):
            Run(clock)()

        stored = checkpoint_of(stack, key(tenant))["log_id"]
        first = queued_ids(stack)
        assert all(i in first for i in ids_of(backlog) if i <= stored)  # the checkpoint is never ahead
        monkeypatch.setenv("AWS_ENDPOINT_URL", moto.url)
        again = Run(clock)()

        second = queued_ids(stack)
        assert again.stopped == "caught-up" and set(first) | set(second) == set(ids_of(backlog))
        repeated = Counter(first + second) - Counter(ids_of(backlog))
        assert all(i > stored for i in repeated)  # only logs after the done prefix came twice
        assert len(second) == len(set(second))


@pytest.mark.parametrize("reserve", [0.2, 0.5])
def test_rate_limit_reserve_keeps_its_share_of_the_bucket_unused(poller_env, stack, monkeypatch, reserve):
    clock = FakeClock()
    with enterprise_tenant(clock) as tenant:
        point_at(tenant, monkeypatch)
        backlog = LogFactory(seed=27).many(4000)
        tenant.add(backlog)

        result = Run(clock, reserve=reserve, rate=16)()

        assert result.slices > 1 and queued_ids(stack) == ids_of(backlog)
        assert tenant.stats.answered_429 == 0
        assert tenant.bucket.lowest >= reserve * 50  # the reserved share was never drawn


def test_a_run_out_of_time_with_a_backlog_says_so(poller_env, stack, monkeypatch):
    clock = FakeClock()
    with enterprise_tenant(clock) as tenant:
        point_at(tenant, monkeypatch)
        backlog = LogFactory(seed=28).many(20_000)  # 200 requests: more than 16/s gives in 8 s
        tenant.add(backlog)

        result = Run(clock, seconds=12.0)()

        assert result.stopped == "out-of-time" and result.backlog
        stored, queued = checkpoint_of(stack, key(tenant))["log_id"], queued_ids(stack)
        assert [i for i in ids_of(backlog) if i <= stored] == queued[: queued.index(stored) + 1]  # never ahead
        assert stored < backlog[-1]["log_id"] and result.rate_limit_waits > 0


def test_a_caught_up_run_reads_page_by_page(poller_env, stack, monkeypatch):
    clock = FakeClock(start=datetime(2026, 11, 1, 9, 1, tzinfo=UTC).timestamp())  # a minute after the logs
    with enterprise_tenant(clock) as tenant:
        point_at(tenant, monkeypatch)
        logs = LogFactory(seed=29).many(350)
        tenant.add(logs)

        result = Run(clock)()

        assert result.slices == 0 and not result.backlog and queued_ids(stack) == ids_of(logs)
        assert tenant.stats.log_requests == 5  # the oldest, then 4 pages in turn


def test_the_drain_reads_from_the_stored_checkpoint(poller_env, stack, monkeypatch):
    clock = FakeClock()
    with enterprise_tenant(clock) as tenant:
        point_at(tenant, monkeypatch)
        logs = LogFactory(seed=30).many(3000)
        tenant.add(logs)
        monkeypatch.setenv("START_FROM", logs[999]["log_id"])

        result = Run(clock)()

        assert result.slices > 1 and queued_ids(stack) == ids_of(logs[1000:])
        assert result.checkpoint == logs[-1]["log_id"] > synthetic_id(datetime(2026, 11, 1, tzinfo=UTC))


def seconds_left(context: LambdaContext) -> Callable[[], float]:
    return lambda: context.get_remaining_time_in_millis() / 1000


def test_a_run_out_of_time_with_a_backlog_hands_on_once_and_the_chain_stops(poller_env, stack, monkeypatch):
    with LocalTenant(latency=0.3) as tenant:  # 0.3 s a reply: 60 pages cannot be read in the first run's 2.5 s
        point_at(tenant, monkeypatch)
        logs = LogFactory(seed=31).many(6000)
        tenant.add(logs)
        handed: list[int] = []

        def hand_on() -> None:
            handed.append(len(handed))

        first = run_poller(PollerSettings.from_env(), seconds_left(LambdaContext(5.5)), hand_on)

        assert (first.stopped, first.backlog, first.handed_on, handed) == ("out-of-time", True, True, [0])
        handed_on = run_poller(PollerSettings.from_env(), seconds_left(LambdaContext(60)), hand_on)

        assert (handed_on.stopped, handed_on.backlog, handed_on.handed_on) == ("caught-up", False, False)
        assert handed == [0]  # caught up: no further run
        assert queued_ids(stack) == ids_of(logs)
