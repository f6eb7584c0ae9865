"""The poller against a hostile tenant and a failing SQS (issue 8): real moto, the local tenant, real HTTP.

Waits are driven by a virtual clock given to the Auth0 source and the poller, never by the wall clock.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import replace

import pytest
import requests
from auth0_webhooks import clients
from auth0_webhooks.auth0_source import Auth0LogSource
from auth0_webhooks.checkpoint import CheckpointStore
from auth0_webhooks.errors import Auth0Error, QueueError
from auth0_webhooks.filters import LogFilter
from auth0_webhooks.poller import Poller, RunResult
from auth0_webhooks.queue import LogQueue
from auth0_webhooks.settings import PollerSettings

from devkit.http import Reply, Request
from devkit.logs import LogFactory
from devkit.proxy import FaultProxy, sqs_action
from devkit.tenant import LocalTenant
from functions.poller.app import lambda_handler
from tests.conftest import checkpoint_of, context, ids_of, load_event, queued_ids

EVENT = load_event("scheduled.json")


class VirtualTime:
    """A clock that moves only when someone sleeps: the run's deadline is ``seconds`` away."""

    def __init__(self, seconds: float = 60.0) -> None:
        self.now = time.time()
        self.deadline = self.now + seconds
        self.sleeps: list[float] = []

    def time(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds

    def remaining(self) -> float:
        return self.deadline - self.now


def key(tenant: LocalTenant) -> str:
    return tenant.url.split("://", 1)[1]


def source_for(clock: VirtualTime) -> Auth0LogSource:
    return Auth0LogSource(PollerSettings.from_env().auth0, requests.Session(), clock=clock.time, sleep=clock.sleep)


def poller_for(clock: VirtualTime, source: Auth0LogSource | None = None) -> Poller:
    """The poller build_poller makes, with the virtual clock in place of time.time and time.sleep."""
    settings = PollerSettings.from_env()
    return Poller(
        source=source or source_for(clock),
        store=CheckpointStore(clients.dynamodb(), settings.checkpoint_table, settings.auth0.domain),
        queue=LogQueue(clients.sqs(), settings.queue_url, settings.dead_letter_queue_url, sleep=clock.sleep),
        keep=LogFilter(settings.log_types, settings.min_log_level, settings.api_endpoints),
        batch_size=settings.batch_size,
        clock=clock.time,
        wall_clock=clock.time,
    )


def run(clock: VirtualTime) -> RunResult:
    return poller_for(clock).run(clock.remaining)


# -- 8: the page's order, not max() ---------------------------------------------------------


def test_a_page_out_of_order_and_sqs_failing_partway_skips_nothing(poller_env, tenant, stack, monkeypatch):
    factory = LogFactory(seed=30)
    first = factory.many(1)
    tenant.add(first)
    run(VirtualTime())
    assert queued_ids(stack) == ids_of(first)
    big = factory.many(20, large_every=1, large_size=200_000)  # several messages for one page
    tenant.add(big)
    tenant.faults.reverse_pages = True  # newest first
    proxy = FaultProxy(stack.endpoint).start()
    try:
        monkeypatch.setenv("AWS_ENDPOINT_URL_SQS", proxy.url)
        rule = proxy.fail_when(sqs_action("SendMessageBatch"), after=2)

        with pytest.raises(QueueError):
            run(VirtualTime())

        accepted = queued_ids(stack)
        assert 0 < len(accepted) < len(big)
        assert accepted == ids_of(big[: len(accepted)])  # the oldest, in log_id order
        assert checkpoint_of(stack, key(tenant))["log_id"] == accepted[-1]

        rule.times = rule.failed  # SQS is back
        run(VirtualTime())
        assert queued_ids(stack) == ids_of(big[len(accepted) :])
    finally:
        proxy.stop()


# -- 9: a tenant that ignores `from` ---------------------------------------------------------


def test_a_tenant_that_ignores_from_queues_nothing_twice_and_is_reported(poller_env, tenant, stack, caplog):
    logs = LogFactory(seed=31).many(10)
    tenant.add(logs)
    run(VirtualTime())
    assert queued_ids(stack) == ids_of(logs)
    tenant.faults.ignore_from = True

    with caplog.at_level(logging.WARNING):
        result = run(VirtualTime())

    assert queued_ids(stack) == []
    assert result.stopped == "stale-page" and result.stale_dropped == len(logs)
    assert result.metrics()["Anomalies"] == 1 and "Progress" not in result.metrics()
    assert checkpoint_of(stack, key(tenant))["log_id"] == logs[-1]["log_id"]  # never backwards
    assert "at or before the checkpoint" in caplog.text


def test_a_page_mixing_old_and_new_logs_queues_only_the_new(poller_env, tenant, stack):
    factory = LogFactory(seed=32)
    old, new = factory.many(5), factory.many(5)
    tenant.add(old)
    run(VirtualTime())
    queued_ids(stack)
    tenant.add(new)
    tenant.faults.ignore_from = True  # the page holds the 5 old logs and then the 5 new ones

    result = run(VirtualTime())

    assert queued_ids(stack) == ids_of(new)
    assert result.stale_dropped == 5 and result.checkpoint == new[-1]["log_id"]


# -- 10: rate limits -------------------------------------------------------------------------


@pytest.mark.parametrize("reset", [None, "1"])  # no reset header; a reset long past
def test_persistent_429s_wait_then_end_the_run_cleanly(poller_env, tenant, stack, reset):
    logs = LogFactory(seed=33).many(10)
    tenant.add(logs)
    run(VirtualTime())
    queued_ids(stack)
    tenant.faults.throttle, tenant.faults.throttle_reset = 1000, reset
    clock = VirtualTime(20)

    result = run(clock)

    assert result.stopped == "rate-limited"  # no Auth0Error: contention is not a failure
    assert clock.sleeps and min(clock.sleeps) >= 1.0  # waited between tries: no hammering
    assert tenant.stats.answered_429 == len(clock.sleeps) + 1 <= 10
    assert "Progress" not in result.metrics()  # the silence alarm sees that nothing moves
    assert result.lag_seconds > 3600  # from the checkpoint's newest log, though no page was read
    assert checkpoint_of(stack, key(tenant))["log_id"] == logs[-1]["log_id"]


def test_a_429_that_clears_is_waited_out_and_the_run_goes_on(poller_env, tenant, stack):
    logs = LogFactory(seed=34).many(30)
    tenant.add(logs)
    tenant.faults.throttle = 8  # more than the six retry slots 5xx get: 1+2+4+8+8+8+8+8 s of waits

    result = run(VirtualTime(300))

    assert queued_ids(stack) == ids_of(logs)
    assert result.stopped == "caught-up" and result.rate_limit_waits == 8 and result.auth0_retries == 0


# -- 11: the token endpoint ------------------------------------------------------------------


def test_the_token_endpoint_is_retried_and_waited_for_like_the_logs(poller_env, tenant, stack):
    logs = LogFactory(seed=35).many(5)
    tenant.add(logs)
    tenant.faults.token_fail, tenant.faults.token_throttle = 2, 2
    clock = VirtualTime()

    result = run(clock)

    assert queued_ids(stack) == ids_of(logs)
    assert tenant.stats.token_requests == 5
    assert result.rate_limit_waits == 2 and 1.0 in clock.sleeps


@pytest.mark.parametrize("expires_in", ["soon", 30, 60])
def test_an_odd_or_short_token_lifetime_does_not_fetch_a_token_per_page(
    poller_env, tenant, stack, monkeypatch, expires_in
):
    monkeypatch.setenv("BATCH_SIZE", "5")
    logs = LogFactory(seed=36).many(40)
    tenant.add(logs)
    tenant.faults.token_expires_in = expires_in

    run(VirtualTime())

    assert queued_ids(stack) == ids_of(logs)
    assert tenant.stats.token_requests == 1


# -- 12: a lease per run ---------------------------------------------------------------------


def test_a_second_run_ends_at_once_while_the_first_holds_the_lease(poller_env, tenant, stack):
    tenant.add(LogFactory(seed=37).many(5))
    clock = VirtualTime()
    store = CheckpointStore(clients.dynamodb(), stack.table, key(tenant))
    assert store.take_lease("the-first-run", clock.time() + 60, clock.time())

    result = run(clock)

    assert result.stopped == "leased" and "Progress" not in result.metrics()
    assert tenant.stats.log_requests == 0 and tenant.stats.token_requests == 0
    assert queued_ids(stack) == []


def test_a_crashed_runs_lease_lapses_by_itself(poller_env, tenant, stack):
    logs = LogFactory(seed=38).many(5)
    tenant.add(logs)
    clock = VirtualTime()
    store = CheckpointStore(clients.dynamodb(), stack.table, key(tenant))
    assert store.take_lease("a-crashed-run", clock.time() - 1, clock.time() - 60)  # its deadline has passed

    result = run(clock)

    assert result.stopped == "caught-up" and queued_ids(stack) == ids_of(logs)
    assert "lease_owner" not in checkpoint_of(stack, key(tenant))  # given back


# -- 13: a checkpoint older than the tenant keeps ---------------------------------------------


def test_a_checkpoint_older_than_the_retention_is_warned_and_counted(poller_env, tenant, stack, caplog):
    factory = LogFactory(seed=39)
    old = factory.many(5)
    tenant.add(old)
    run(VirtualTime())
    queued_ids(stack)
    factory.when = factory.when.replace(day=factory.when.day + 3)  # three days later
    lost, kept = factory.many(5), factory.many(5)
    tenant.add(lost + kept)
    tenant.forget_before(kept[0]["log_id"])  # the tenant no longer has the old logs nor the lost ones

    with caplog.at_level(logging.WARNING):
        result = run(VirtualTime())

    assert queued_ids(stack) == ids_of(kept)
    assert result.retention_gaps == 1 and result.metrics()["Anomalies"] == 1
    assert "older than the oldest log Auth0 keeps" in caplog.text


def test_a_quiet_tenant_is_not_taken_for_a_retention_gap(poller_env, tenant, stack):
    factory = LogFactory(seed=40)
    tenant.add(factory.many(5))
    run(VirtualTime())
    queued_ids(stack)
    factory.when = factory.when.replace(day=factory.when.day + 3)
    later = factory.many(5)
    tenant.add(later)

    result = run(VirtualTime())

    assert queued_ids(stack) == ids_of(later)
    assert result.retention_gaps == 0 and "Anomalies" not in result.metrics()  # sent only when there is one


# -- 18: a 401 in the middle of a run -------------------------------------------------------------


def test_a_401_mid_run_fetches_one_new_token_and_goes_on(poller_env, tenant, stack, monkeypatch):
    monkeypatch.setenv("BATCH_SIZE", "10")
    logs = LogFactory(seed=41).many(50)
    tenant.add(logs)
    tenant.faults.forget_tokens_after = 3  # the fourth page's request is refused

    result = run(VirtualTime())

    assert queued_ids(stack) == ids_of(logs)
    assert tenant.stats.token_requests == 2 and result.stopped == "caught-up"


# -- the handler: a rate-limited run is not a failure, and not progress --------------------------


def test_a_rate_limited_handler_run_ends_cleanly_without_progress(poller_env, tenant, stack):
    tenant.add(LogFactory(seed=42).many(3))
    assert lambda_handler(EVENT, context())["progressed"] is True
    queued_ids(stack)
    tenant.faults.throttle = 1000

    result = lambda_handler(EVENT, context(seconds=4.5))  # waits 1 s once, then has no room for 2 s

    assert result["stopped"] == "rate-limited" and result["progressed"] is False
    assert tenant.stats.answered_429 == 2 and queued_ids(stack) == []


# -- 18: SQS accepting a batch with some entries Failed -------------------------------------------


class PartialSqsProxy(FaultProxy):
    """Forwards SendMessageBatch without the entry ``Id == refuse_id`` and reports it ``Failed``, ``times`` times."""

    def __init__(self, target: str, refuse_id: str, sender_fault: bool, times: int) -> None:
        super().__init__(target)
        self.refuse_id, self.sender_fault, self.times = refuse_id, sender_fault, times

    def handle(self, request: Request) -> Reply:
        body = json.loads(request.body or b"{}") if request.body.startswith(b"{") else {}
        entries = body.get("Entries", [])
        if not (sqs_action("SendMessageBatch")(request) and self.times and len(entries) > 1):
            return super().handle(request)
        refused = [e for e in entries if e["Id"] == self.refuse_id]
        if not refused:
            return super().handle(request)
        self.times -= 1
        body["Entries"] = [e for e in entries if e["Id"] != self.refuse_id]
        reply = super().handle(replace(request, body=json.dumps(body).encode()))
        answer = json.loads(reply.body)
        answer.setdefault("Failed", []).append(
            {"Id": self.refuse_id, "SenderFault": self.sender_fault, "Code": "InjectedFailure", "Message": "no"}
        )
        return replace(reply, body=json.dumps(answer).encode())


def page_with_oversized_logs(tenant: LocalTenant) -> tuple[list[dict], list[dict]]:
    """A run's first page is one log; the second holds a log, three too large for SQS, and a log."""
    factory = LogFactory(seed=43)
    first = factory.many(1)
    tenant.add(first)
    run(VirtualTime())
    small_a, huge, small_b = factory.many(1), [factory.make("s", size=1_200_000) for _ in range(3)], factory.many(1)
    tenant.add(small_a + huge + small_b)
    return small_a + small_b, huge


def dead_lettered_ids(stack) -> list[str]:
    return sorted(json.loads(m["Body"])["log_id"] for m in stack.drain(stack.dead_letter_queue_url))


def test_entries_sqs_marks_failed_are_sent_again(poller_env, tenant, stack, monkeypatch):
    logs, huge = page_with_oversized_logs(tenant)
    queued_ids(stack)
    proxy = PartialSqsProxy(stack.endpoint, refuse_id="1", sender_fault=False, times=1).start()
    try:
        monkeypatch.setenv("AWS_ENDPOINT_URL_SQS", proxy.url)
        result = run(VirtualTime())
    finally:
        proxy.stop()

    assert proxy.times == 0  # one entry was refused once
    assert queued_ids(stack) == ids_of(logs)
    assert dead_lettered_ids(stack) == ids_of(huge)  # each exactly once
    assert result.checkpoint == logs[-1]["log_id"]


def test_an_entry_sqs_will_never_take_stops_the_checkpoint_before_it(poller_env, tenant, stack, monkeypatch):
    logs, huge = page_with_oversized_logs(tenant)
    queued_ids(stack)
    proxy = PartialSqsProxy(stack.endpoint, refuse_id="1", sender_fault=True, times=1).start()
    try:
        monkeypatch.setenv("AWS_ENDPOINT_URL_SQS", proxy.url)
        with pytest.raises(QueueError):
            run(VirtualTime())
    finally:
        proxy.stop()

    assert checkpoint_of(stack, key(tenant))["log_id"] == huge[0]["log_id"]  # the last log before the refused one
    monkeypatch.delenv("AWS_ENDPOINT_URL_SQS")
    run(VirtualTime())
    assert queued_ids(stack) == ids_of(logs)
    assert sorted(set(dead_lettered_ids(stack))) == ids_of(huge)  # the third may come twice: at least once


# -- 5: a deadline on the whole exchange with Auth0 ---------------------------------------------


def test_a_tenant_trickling_its_page_cannot_hold_the_run_past_its_deadline(poller_env, tenant, stack):
    # a page of 20 logs sent one byte every 50 ms would take over 15 minutes; each socket read is quick
    tenant.add(LogFactory(seed=41).many(20))
    tenant.faults.trickle_seconds = 0.05

    with pytest.raises(Auth0Error, match="last: no complete answer within"):
        lambda_handler(EVENT, context(6.0))  # 3 s for pages once the reserve is kept

    assert tenant.stats.log_requests >= 1
    assert queued_ids(stack) == []
    assert checkpoint_of(stack, key(tenant)).get("log_id") is None
    for _ in range(100):  # the tenant notices the hang-up at its next byte
        if tenant.trickles_cut:
            break
        time.sleep(0.05)
    assert tenant.trickles_cut >= 1
